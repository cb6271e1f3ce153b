// End to end through podman's remote client, as macOS users reach podman (a
// podman machine is a `podman system service` their client talks to): `up`,
// a user's spawn, `status` and `down`, every product command run with
// JH_SLURM_PODMAN set to the remote client. The service runs in the
// provisioned podman's namespace (provision.ts remote-start) unless
// JH_E2E_REMOTE_PODMAN names a remote client to use instead.
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { exec } from '../../scripts/lib/exec.ts'
import { containerName } from '../../scripts/lib/names.ts'
import { volumeOwners } from '../../scripts/lib/owners.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { podmanSucceeds } from '../../scripts/lib/podman.ts'
import { formAction, HubClient, selectOptions } from './lib/browserless.ts'
import { devLogin, spawnForm, waitForLab } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, waitFor } from './lib/run.ts'
import { cleanAround, inCI, ownLeftovers, phase, unavailable, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { testEnvironment } from './lib/test-environments.ts'

const dummy = testEnvironment('dev_dummyauth')
const HUB = dummy.url
const { names } = dummy
const USER = 'testuser'
const ACCOUNT = 'testuser.project1'
const provision = path.join(repoRoot, 'test', 'e2e', 'provision', 'provision.ts')

/** Runs provision.ts (root, provisioned machine) and returns its output; one line on failure. */
async function provisioned(...args: string[]): Promise<string> {
  const run = await exec([process.execPath, '--import', 'tsx', provision, ...args], { nothrow: true })
  if (run.exitCode !== 0) throw new Error(run.stderr.trim().split('\n').pop() ?? `provision.ts ${args[0]} failed`)
  return run.stdout
}

type Remote = { command: string; started: boolean } | { reason: string }

/** The remote client to use: JH_E2E_REMOTE_PODMAN, else the provisioned service's, started here. */
async function remoteClient(): Promise<Remote> {
  const given = process.env.JH_E2E_REMOTE_PODMAN?.trim()
  if (given) return { command: given, started: false }
  try {
    const started = /: started \(pid/.test(await provisioned('remote-start'))
    const command = (await provisioned('env', '--remote', '--plain')).trim().replace(/^JH_SLURM_PODMAN=/, '')
    return { command, started }
  } catch (error) {
    return { reason: `the podman service for the remote client did not start: ${(error as Error).message}` }
  }
}

// Only where the local podman is provisioned is there a service to start.
const remote: Remote = (await unavailable()) ? { reason: 'not provisioned' } : await remoteClient()

await whenProvisioned(() => {
  if ('reason' in remote) {
    if (!inCI) return console.warn(`\n!! REMOTE-PODMAN END-TO-END TEST SKIPPED: ${remote.reason}\n`)
    test('the podman service for the remote client starts', () => assert.unreachable(remote.reason))
    return
  }
  const env = { ...upEnvironment(), JH_SLURM_PODMAN: remote.command }
  const client = new HubClient(HUB)
  let jobId = ''

  cleanAround(() => [names])
  test.after(async () => {
    if (remote.started) await provisioned('remote-stop').catch((e) => console.error(`cleanup: ${e}`))
  })

  test('the remote client reaches the service and says it is remote', async () => {
    const version = await exec([...remote.command.split(/\s+/), 'version', '--format', '{{.Server.Version}}'])
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+/)
  })

  test(`up ${dummy.name} through the remote client: volumes filled through a container, no build --jobs`, async () => {
    const run = await phase(`remote: up ${dummy.name}`, () =>
      npmRun('up', [dummy.name], { env: { ...env, JH_SLURM_TRACE: '1' } }),
    )
    assert.is(run.code, 0, 'up through the remote client failed')
    assert.match(run.output, /podman \d+\.\d+\.\d+ \(remote client\)/)
    const traced = run.output.split('\n').filter((line) => line.startsWith('[trace]'))
    assert.ok(traced.length > 0, 'no trace of the podman calls')
    assert.not.ok(
      traced.some((line) => / volume import /.test(line)),
      'volume import through the remote client',
    )
    for (const volume of [names.volumes.jupyterhub, names.volumes.slurm])
      assert.ok(
        traced.some((line) => /exit 0: .* run --interactive --rm /.test(line) && line.includes(`${volume}:/volume`)),
        `${volume} filled through a container`,
      )
    assert.not.ok(
      traced.some((line) => / build .*--jobs/.test(line)),
      'a build with --jobs',
    )
    // As an import leaves them: the Slurm log file from the volume, owned by the Slurm user by number.
    const slurm = volumeOwners().slurm
    assert.is(await inSlurm(['stat', '-c', '%u:%g', '/var/log/slurmctld.log']), `${slurm.uid}:${slurm.gid}`)
    const health = await waitFor('hub health', 60_000, async () => {
      const r = await fetch(new URL('jupyter/hub/health', HUB), { signal: AbortSignal.timeout(5000) })
      return r.ok ? r.status : undefined
    })
    assert.is(health, 200)
  })

  test('a user logs in, picks a project, and the server starts as a Slurm job', async () => {
    const page = await devLogin(client, dummy.name)
    assert.match(page.url, /\/jupyter\/hub\/spawn$/)
    // The same environment and users as the local suite: the same form.
    assert.equal(selectOptions(page.body, 'brics_project'), ['project1.brics', 'project2.brics'])
    assert.equal(selectOptions(page.body, 'ngpus'), ['1', '2', '3', '4'])
    await phase('remote: spawn request', () => client.request(formAction(page.body), { form: spawnForm() }))
    const job = await waitFor('the job in squeue', 120_000, async () => {
      const lines = (await inSlurm(['squeue', '-h', '-o', '%i|%u'])).split('\n').filter(Boolean)
      return lines.map((l) => l.split('|')).find((f) => f[1] === ACCOUNT)
    })
    jobId = job[0] as string
    const lab = await phase('remote: server ready', () => waitForLab(client, USER))
    assert.match(lab.body, /JupyterLab/)
  })

  test('status through the remote client shows the pod and both containers running', async () => {
    const run = await npmRun('status', [], { env })
    assert.is(run.code, 0)
    assert.match(
      run.output,
      new RegExp(`${dummy.name}\\s+http://127\\.0\\.0\\.1:${dummy.hostPort}/\\S*\\s+pod ${names.pod} Running`),
    )
    assert.match(run.output, /jupyterhub running/)
    assert.match(run.output, /slurm running/)
  })

  test('the server stops, and down through the remote client leaves nothing', async () => {
    const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}`)
    await waitFor('the job to leave the queue', 120_000, async () => {
      const queue = await inSlurm(['squeue', '-h', '-j', jobId, '-o', '%T']).catch(() => '')
      return queue === '' || /COMPLETED|CANCELLED/.test(queue) ? true : undefined
    })
    const run = await phase('remote: down', () => npmRun('down', [dummy.name], { env }))
    assert.is(run.code, 0)
    assert.not.ok(await podmanSucceeds(['pod', 'exists', names.pod]))
    assert.not.ok(await podmanSucceeds(['container', 'exists', containerName(names, 'jupyterhub')]))
    assert.equal(await ownLeftovers(), [])
  })
})

test.run()
