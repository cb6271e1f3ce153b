// End to end, on real podman: dev_realauth_nadir (its test copy) with the
// stand-in Nadir server `up` brings up beside it (docs/nadir.md). A client
// that only follows links and fills forms reaches the hub through the
// server's published port alone, logs in at the issuer and spawns; a real
// browser does the same and runs a notebook cell in its Slurm job; the
// server's sshd restarts, and the tunnel comes back by itself; `status` and
// `logs <env> tunnel` show it; `down` leaves nothing.
import fs from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { networkName, nadirServerPodName, containerName } from '../../scripts/lib/names.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { podman, podmanSucceeds } from '../../scripts/lib/podman.ts'
import { launchBrowser, logInAtIssuer } from './lib/browser.ts'
import { formAction, type HubClient, selectOptions } from './lib/browserless.ts'
import { issuerLogin, runCell, spawnForm, waitForLab } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, waitFor } from './lib/run.ts'
import { cleanAround, ownLeftovers, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { testEnvironment } from './lib/test-environments.ts'

const nadirEnv = testEnvironment('dev_realauth_nadir')
const ENV = nadirEnv.name
const { names } = nadirEnv
const SERVER_POD = nadirServerPodName(names)
const SSHD = `${SERVER_POD}-nadir-server`
const CLIENT = containerName(names, 'nadir-client')
const URL_HOME = `${nadirEnv.url}jupyter/`
const usersFile = nadirEnv.devUsersFile
const password = () => fs.readFileSync(repoPaths().devLoginPasswordFile(ENV), 'utf8').trim()

/** The host ports a pod publishes, from its infra container. */
async function publishedPorts(pod: string): Promise<string[]> {
  const inspect = await podman(['pod', 'inspect', pod, '--format', '{{json .InfraConfig.PortBindings}}'])
  const bindings = JSON.parse(inspect.stdout.trim() || 'null') as Record<string, Array<{ HostPort: string }>> | null
  return Object.values(bindings ?? {}).flatMap((list) => list.map((b) => b.HostPort))
}

/** The status line of the environment. */
async function statusLine(): Promise<string> {
  const run = await npmRun('status', [])
  assert.is(run.code, 0, run.output)
  return run.output.split('\n').find((line) => line.startsWith(`${ENV} `)) ?? ''
}

await whenProvisioned(() => {
  let savedUsers: string | undefined
  cleanAround(() => [names])
  test.before(() => {
    if (fs.existsSync(usersFile)) savedUsers = fs.readFileSync(usersFile, 'utf8')
    fs.copyFileSync(`${usersFile}.example`, usersFile)
  })
  test.after(() => {
    if (savedUsers === undefined) fs.rmSync(usersFile, { force: true })
    else fs.writeFileSync(usersFile, savedUsers)
  })

  test('dev_realauth_nadir: up brings up the stand-in server; the hub is reached through its tunnel only', async () => {
    const run = await phase('up dev_realauth_nadir', () => npmRun('up', [ENV], { env: upEnvironment() }))
    assert.is(run.code, 0, `up failed:\n${run.output}`)
    assert.not.match(run.output, /BEGIN OPENSSH PRIVATE KEY/)
    // The server's pod publishes the environment's port; the hub's pod publishes nothing.
    assert.equal(await publishedPorts(SERVER_POD), [String(nadirEnv.hostPort)])
    assert.equal(await publishedPorts(names.pod), [])
    assert.is((await podman(['exec', CLIENT, 'cat', '/etc/nadir/server_address'])).stdout.trim(), SERVER_POD)
    assert.ok(await podmanSucceeds(['network', 'exists', networkName(names)]))
    assert.match(await statusLine(), /tunnel connected \(pod nadir-server-\S+ Running\)/)
  })

  let client: HubClient
  test('a client logs in at the issuer through the server and spawns', async () => {
    const login = await issuerLogin(URL_HOME, 'otheruser', password())
    client = login.client
    const spawn = login.page
    assert.match(spawn.url, /\/jupyter\/hub\/spawn$/)
    assert.equal(selectOptions(spawn.body, 'brics_project'), ['project1.brics'])
    await client.request(formAction(spawn.body), { form: spawnForm() })
    // As a browser: JupyterLab first (the server's OAuth with the hub, through the tunnel), then its API.
    await phase('spawn through the tunnel', () => waitForLab(client, 'otheruser', ''))
    const api = await client.request('user/otheruser/api/status')
    assert.is(api.status, 200, api.body)
    assert.match(api.body, /"started"/)
  })

  test('in a real browser, through the tunnel: log in, start a server for project1, run a cell in its Slurm job', async () => {
    const browser = await launchBrowser()
    try {
      const page = await browser.newPage()
      await phase('browser through the tunnel: log in and spawn', async () => {
        await page.goto(URL_HOME)
        await logInAtIssuer(page, 'testuser', password())
        await page.waitForURL(/\/jupyter\/hub\/spawn/)
        await page.selectOption('select[name="brics_project"]', 'project1.brics')
        await page.click('#spawn_form input[type="submit"], #spawn_form button[type="submit"]')
        await page.waitForURL(/\/jupyter\/user\/testuser\/lab/, { timeout: 420_000 })
        await page.waitForSelector('.jp-Launcher', { timeout: 120_000 })
      })
      assert.ok(page.url().startsWith(URL_HOME), page.url())
      const job = (await inSlurm(['squeue', '-h', '-u', 'testuser.project1', '-o', '%i'], ENV)).trim()
      assert.match(job, /^\d+$/, 'one job runs for testuser.project1')
      const output = await phase('browser through the tunnel: notebook cell', () =>
        runCell(
          page,
          'import os, pwd; print("RESULT", pwd.getpwuid(os.getuid()).pw_name, os.environ.get("SLURM_JOB_ID"))',
        ),
      )
      assert.is(output.trim(), `RESULT testuser.project1 ${job}`)
    } finally {
      await browser.close()
    }
  })

  test('the tunnel drops when the server restarts, and comes back by itself', async () => {
    await podman(['stop', '--time', '1', SSHD])
    // While the server is away the hub is not reached, and status says so.
    const away = await client.request('user/otheruser/api/status')
    assert.is.not(away.status, 200)
    assert.match(await statusLine(), /tunnel not connected/)
    await podman(['start', SSHD])
    await phase('tunnel back after a server restart', () =>
      waitFor('the server through the tunnel again', 90_000, async () => {
        const r = await client.request('user/otheruser/api/status')
        return r.status === 200 ? r : undefined
      }),
    )
    assert.match(await statusLine(), /tunnel connected/)
    const logs = await npmRun('logs', [ENV, 'tunnel'])
    assert.is(logs.code, 0, logs.output)
    assert.match(logs.output, /tunnel closed \(ssh exit \d+\); connecting again in 5 s/)
    assert.match(logs.output, /Accepted publickey for nadir/)
    assert.ok((logs.output.match(/Accepted publickey for nadir/g) ?? []).length >= 1)
  })

  test('down leaves nothing: both pods, the network, volumes and secrets', async () => {
    const down = await npmRun('down', [ENV])
    assert.is(down.code, 0, down.output)
    assert.match(down.output, new RegExp(`removed pod ${SERVER_POD}`))
    assert.match(down.output, new RegExp(`removed network ${networkName(names)}`))
    assert.equal(await ownLeftovers(), [])
    assert.not.ok(await podmanSucceeds(['network', 'exists', networkName(names)]))
  })
})

test.run()
