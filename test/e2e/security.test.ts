// End to end, on real podman: the boundaries the pod keeps as production
// does, tried the way a neighbour on the same cluster would.
// - A user's own process, in a Slurm job, cannot listen on a port of the
//   hub, the proxy, the login front or the issuer, also not while `apply`
//   restarts them; a port of its own it can have.
// - A second user at the login front gets nowhere near the first one's
//   server, and forwarding headers a client makes up reach neither the hub
//   nor a server.
// - Each environment has a MUNGE key of its own; the image has none.
// - The hub container reaps orphans: no zombie after twenty spawns and stops.
// - `up` with a hub configuration that crashes the hub fails within seconds,
//   with the hub's own error, and leaves nothing behind.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerName, imageRef } from '../../scripts/lib/names.ts'
import { nodeContainer } from '../../scripts/lib/nodes.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { podmanSucceeds } from '../../scripts/lib/podman.ts'
import { formAction, HubClient } from './lib/browserless.ts'
import { devLogin, issuerLogin, labAnswers, spawnForm } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, podmanOut, waitFor } from './lib/run.ts'
import { cleanAround, outputDir, ownLeftovers, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { TEST_TAG, testEnvironment, testEnvironmentNames } from './lib/test-environments.ts'

const dummy = testEnvironment('dev_dummyauth')
const realauth = testEnvironment('dev_realauth')
const USER = 'testuser'
const ACCOUNT = 'testuser.project1'
const HOME = '/home/project1/testuser.project1'
/** The ports of the pod's services: proxy, hub API, proxy API, issuer, and the front on the environment's port. */
const SERVICE_PORTS = [8000, 8081, 8009, 8010, realauth.hostPort]

/** Zombie processes in a container, from /proc (the images have no ps). */
async function zombies(container: string): Promise<number> {
  const states = await podmanOut([
    'exec',
    container,
    'sh',
    '-c',
    'for f in /proc/[0-9]*/stat; do cut -d" " -f3 "$f" 2>/dev/null; done',
  ])
  return states.split('\n').filter((s) => s.trim() === 'Z').length
}

/**
 * A job of testuser's that tries, until told to stop, to listen on every
 * service port (loopback and all addresses) and on a port of its own, and
 * says what it got.
 */
const BINDER = `
import os, socket, time
ports = [${SERVICE_PORTS.join(', ')}]
tries = refused = 0
other = []
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); own = s.getsockname()[1]; s.close()
print("STARTED", flush=True)
deadline = time.time() + 300
while time.time() < deadline and not os.path.exists("/tmp/e2e-stop-binding"):
    for port in ports:
        for host in ("127.0.0.1", "0.0.0.0"):
            tries += 1
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port)); s.listen(); other.append(f"listened on {host}:{port}")
            except PermissionError:
                refused += 1
            except OSError as error:
                other.append(f"{host}:{port}: {error}")
            finally:
                s.close()
    time.sleep(0.02)
print(f"RESULT own={own} tries={tries} refused={refused} other={sorted(set(other))}", flush=True)
`

await whenProvisioned(() => {
  const upEnv = upEnvironment()
  const usersFile = realauth.devUsersFile
  let savedUsers: string | undefined
  const realauthSettings = path.join(realauth.configDir, 'deploy-config.yaml')
  let savedSettings = ''
  let originalSettings = ''

  cleanAround(testEnvironmentNames)
  test.before(() => {
    fs.mkdirSync(outputDir, { recursive: true })
    if (fs.existsSync(usersFile)) savedUsers = fs.readFileSync(usersFile, 'utf8')
    fs.copyFileSync(`${usersFile}.example`, usersFile)
    originalSettings = fs.readFileSync(realauthSettings, 'utf8')
    // dev_realauth's jobs run beside its hub, in the Slurm container, as with slurmNodes 0: the
    // root-only service ports below are a boundary of the hub's pod. With nodes of their own, jobs
    // run in other pods, and nodes.test.ts checks what they can reach of the hub's pod.
    savedSettings = `${originalSettings}\nslurmNodes: 0\n`
    fs.writeFileSync(realauthSettings, savedSettings)
  })
  test.after(() => {
    if (savedUsers === undefined) fs.rmSync(usersFile, { force: true })
    else fs.writeFileSync(usersFile, savedUsers)
    fs.writeFileSync(realauthSettings, originalSettings)
  })

  test('a hub configuration that crashes the hub fails up within 30 s, with the hub its error, leaving nothing', async () => {
    // The images are built first, so that the time is the wait's alone.
    const built = await phase('security: build images', () => npmRun('build-images', [], { env: upEnv }))
    assert.is(built.code, 0, built.output)
    const settings = path.join(outputDir, 'loud-log-level.yaml')
    fs.writeFileSync(settings, 'logLevel: LOUD\n')
    const started = Date.now()
    const run = await phase('up with a hub that cannot start', () =>
      npmRun('up', [dummy.name], { env: { ...upEnv, JH_SLURM_DEPLOY_CONFIG: settings } }),
    )
    const seconds = (Date.now() - started) / 1000
    assert.is(run.code, 1, run.output)
    assert.ok(seconds < 30, `up took ${seconds} s to give up`)
    assert.match(run.output, /error: the hub stopped before it answered/)
    assert.match(run.output, /the hub log says:\n.*'log_level' trait .* not the str 'LOUD'/)
    assert.equal(await ownLeftovers(), [])
  })

  test('two environments, two MUNGE keys; the image holds none', async () => {
    for (const env of [dummy, realauth]) {
      const run = await phase(`security: up ${env.name}`, () => npmRun('up', [env.name], { env: upEnv }))
      assert.is(run.code, 0, run.output)
    }
    const keyOf = (name: string) => inSlurm(['sha256sum', '/etc/munge/munge.key'], name)
    const [one, two] = await Promise.all([keyOf(dummy.name), keyOf(realauth.name)])
    assert.match(one, /^[0-9a-f]{64} /)
    assert.is.not(one.split(' ')[0], two.split(' ')[0])
    // The environment's Slurm nodes have its key, and no other.
    const onNode = await podmanOut(['exec', nodeContainer(dummy.names, 1), 'sha256sum', '/etc/munge/munge.key'])
    assert.is(onNode.split(' ')[0], one.split(' ')[0])
    assert.is(await inSlurm(['stat', '-c', '%U %a', '/etc/munge/munge.key'], dummy.name), 'munge 400')
    // Slurm works with it: munge and slurmctld agree.
    assert.match(await inSlurm(['sinfo', '-h', '-o', '%a'], dummy.name), /up/)
    const image = imageRef('slurm', TEST_TAG)
    assert.not.ok(
      await podmanSucceeds(['run', '--rm', '--entrypoint', 'test', image, '-e', '/etc/munge/munge.key']),
      'the image has a MUNGE key of its own',
    )
  })

  test("a user's job cannot listen on a service port, also while apply restarts the hub, front and issuer", async () => {
    const slurm = containerName(realauth.names, 'slurm')
    await podmanOut(['exec', slurm, 'rm', '-f', '/tmp/e2e-stop-binding'])
    fs.writeFileSync(path.join(outputDir, 'binder.py'), BINDER)
    await podmanOut(['cp', path.join(outputDir, 'binder.py'), `${slurm}:/tmp/e2e-binder.py`])
    await podmanOut(['exec', slurm, 'chmod', '0644', '/tmp/e2e-binder.py'])
    const submitted = await podmanOut([
      'exec',
      slurm,
      'su',
      '-',
      ACCOUNT,
      '-c',
      `sbatch --parsable --output=${HOME}/e2e-binder-%j.out --wrap 'python3 /tmp/e2e-binder.py'`,
    ])
    const job = submitted.trim()
    assert.match(job, /^\d+$/)
    const output = `${HOME}/e2e-binder-${job}.out`
    await waitFor('the job to start trying', 60_000, async () =>
      (await inSlurm(['cat', output], realauth.name).catch(() => '')).includes('STARTED') ? true : undefined,
    )
    // A change of the issuer's settings restarts the issuer, the front and the hub.
    fs.writeFileSync(
      realauthSettings,
      savedSettings.replace(/devIssuerTokenLifetime: "\d+"/, 'devIssuerTokenLifetime: "299"'),
    )
    const apply = await phase('security: apply restarting the services', () =>
      npmRun('apply', [realauth.name], { env: upEnv }),
    )
    assert.is(apply.code, 0, apply.output)
    assert.match(apply.output, /Replace dev-issuer, login-front/)
    assert.match(apply.output, /Replace the hub container/)
    await podmanOut(['exec', slurm, 'touch', '/tmp/e2e-stop-binding'])
    const result = await waitFor('the job to say what it got', 60_000, async () => {
      const text = await inSlurm(['cat', output], realauth.name).catch(() => '')
      return /RESULT .*/.exec(text)?.[0]
    })
    const [, own, tries, refused, other] = /own=(\d+) tries=(\d+) refused=(\d+) other=(.*)$/.exec(result) ?? []
    assert.ok(Number(own) >= 16384, `a port of its own: ${own}`)
    assert.ok(Number(tries) > 100, `tries: ${tries}`)
    assert.is(refused, tries, `every try refused; else: ${other}`)
    assert.is(other, '[]')
  })

  test("a second user at the front: not into the other's server, and spoofed forwarding headers reach nobody", async () => {
    const SPOOFED = '203.0.113.66'
    const password = fs.readFileSync(repoPaths().devLoginPasswordFile(realauth.name), 'utf8').trim()
    const home = `${realauth.url}jupyter/`
    const logIn = async (user: string) => {
      const login = await issuerLogin(home, user, password)
      assert.match(login.page.url, /\/jupyter\/hub\/spawn$/, `${user} logged in`)
      return login
    }
    const owner = await logIn(USER)
    await owner.client.request(formAction(owner.page.body), { form: spawnForm() })
    await waitFor("testuser's server", 300_000, () => labAnswers(owner.client, USER, ''), 1000)
    const neighbour = (await logIn('otheruser')).client
    const spoofed = { 'x-forwarded-for': SPOOFED, 'x-real-ip': SPOOFED, forwarded: `for=${SPOOFED}` }
    const intrusion = await neighbour.request(`user/${USER}/lab`, { headers: spoofed })
    assert.not.ok(intrusion.status === 200 && intrusion.url.includes(`/user/${USER}/lab`), "into testuser's lab")
    assert.is((await neighbour.request('hub/home', { headers: spoofed })).status, 200)
    const hubLog = await podmanOut(['logs', containerName(realauth.names, 'jupyterhub')])
    assert.match(hubLog, /GET \/jupyter\/hub\/home \(otheruser@/, 'the hub logs the request')
    assert.not.ok(hubLog.includes(SPOOFED), 'the hub saw the spoofed address')
    const job = (await inSlurm(['squeue', '-h', '-u', ACCOUNT, '-o', '%i'], realauth.name)).trim()
    const serverLog = await inSlurm(['cat', `${HOME}/jupyterhub_slurmspawner_${job}.log`], realauth.name)
    assert.match(serverLog, /Jupyter Server .* is running at/)
    assert.not.ok(serverLog.includes(SPOOFED), "testuser's server saw the spoofed address")
    const stop = await owner.client.api(`hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status), `stop: ${stop.status}`)
    await waitFor('the job to end', 120_000, async () =>
      (await inSlurm(['squeue', '-h', '-u', ACCOUNT], realauth.name)) === '' ? true : undefined,
    )
  })

  test('the hub container holds no zombie after twenty spawns and stops', async () => {
    const client = new HubClient(dummy.url)
    assert.match((await devLogin(client, dummy.name)).url, /\/jupyter\/hub\/spawn$/)
    const hub = containerName(dummy.names, 'jupyterhub')
    await phase('security: twenty spawns and stops', async () => {
      for (let round = 1; round <= 20; round++) {
        const form = await client.request('jupyter/hub/spawn')
        await client.request(formAction(form.body), { form: spawnForm() })
        await waitFor(`server ${round}`, 300_000, () => labAnswers(client, USER), 500)
        const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
        assert.ok([202, 204].includes(stop.status), `stop ${round}: ${stop.status}`)
        await waitFor(`server ${round} stopped`, 120_000, async () =>
          (await inSlurm(['squeue', '-h', '-u', ACCOUNT], dummy.name)) === '' &&
          Object.keys(JSON.parse((await client.api(`jupyter/hub/api/users/${USER}`)).body).servers ?? {}).length === 0
            ? true
            : undefined,
        )
      }
    })
    assert.is(await zombies(hub), 0)
    // An orphan made on purpose is reaped too: PID 1 is the init process, not jupyterhub.
    assert.match(await podmanOut(['exec', hub, 'cat', '/proc/1/cmdline']), /podman-init/)
    for (let i = 0; i < 3; i++) await podmanOut(['exec', hub, 'sh', '-c', 'sleep 0.2 & exit 0'])
    await new Promise((resolve) => setTimeout(resolve, 1000))
    assert.is(await zombies(hub), 0)
  })
})

test.run()
