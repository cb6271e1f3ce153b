// End to end, on real podman: `apply` of the hub configuration drops no one.
// For the test copies of dev_dummyauth (the proxy published) and
// dev_realauth (the login front before the proxy): a client calls a running
// server's API through the published port every 100 ms during the apply and
// no request fails; a kernel WebSocket opened before the apply answers an
// execute request after it. Then the routes after a restart: a server whose
// job ended while the hub was not looking loses its route, and a server
// started in the restart window gets one (the hub and the proxy agree).
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerName } from '../../scripts/lib/names.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { formAction, HubClient } from './lib/browserless.ts'
import { devLogin, labAnswers, spawnForm } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, podmanOut, waitFor } from './lib/run.ts'
import { cleanAround, outputDir, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { type TestEnvironment, testEnvironment, testEnvironmentNames } from './lib/test-environments.ts'
import { openKernel, pollEvery, userToken } from './lib/through-apply.ts'

const USER = 'testuser'
const ACCOUNT = 'testuser.project1'
const SERVER = `jupyter/user/${USER}/`
const dummy = testEnvironment('dev_dummyauth')
const realauth = testEnvironment('dev_realauth')

const hubConfig = (env: TestEnvironment) =>
  path.join(env.volumesDir, 'jupyterhub_root', 'etc', 'jupyterhub', 'jupyterhub_config.py')
const announce = (file: string, text: string) =>
  fs.writeFileSync(
    file,
    `${fs.readFileSync(file, 'utf8').replace(/\n# e2e announcement[\s\S]*$/, '\n')}# e2e announcement\nc = get_config()  # noqa: F821\nc.JupyterHub.template_vars = {"announcement": "${text}"}\n`,
  )

async function startServer(client: HubClient): Promise<void> {
  const form = await client.request('jupyter/hub/spawn')
  await client.request(formAction(form.body), { form: spawnForm() })
}

/** The routes the proxy holds, as its API lists them (asked inside the pod, with the token the hub has). */
async function proxyRoutes(env: TestEnvironment): Promise<string[]> {
  const script =
    "fetch('http://127.0.0.1:8009/api/routes',{headers:{authorization:'token '+require('fs').readFileSync('/etc/configurable-http-proxy/auth_token','utf8').trim()}}).then(r=>r.json()).then(j=>console.log(JSON.stringify(Object.keys(j).sort())))"
  return JSON.parse(await podmanOut(['exec', containerName(env.names, 'proxy'), 'node', '-e', script])) as string[]
}

/** Whether the hub has the user's server ready, as its API says. */
async function hubSaysReady(client: HubClient): Promise<boolean> {
  const user = JSON.parse((await client.api(`jupyter/hub/api/users/${USER}`)).body) as {
    servers?: Record<string, { ready?: boolean }>
  }
  return Boolean(user.servers?.['']?.ready)
}

/**
 * With the user's server running: polls its API through the published port
 * every 100 ms and keeps a kernel's WebSocket open, across an apply of the
 * hub configuration. Nothing may fail.
 */
async function applyWithTrafficFlowing(env: TestEnvironment, client: HubClient): Promise<void> {
  const token = await userToken(client, USER)
  const auth = { authorization: `token ${token}` }
  // Through the front, the session cookie goes along (HubClient sends it); the WebSocket needs it too.
  const kernel = await openKernel(client, SERVER, { ...auth, cookie: client.cookiesFor(SERVER) })
  try {
    assert.is((await kernel.execute('print(6 * 7)')).trim(), '42', 'the kernel answers before the apply')
    announce(hubConfig(env), `Announcement ${Date.now()}`)
    const poll = pollEvery(client, `${SERVER}api/status`, auth, 100)
    await new Promise((resolve) => setTimeout(resolve, 500))
    const run = await phase(`${env.name}: apply with traffic`, () =>
      npmRun('apply', [env.name], { env: upEnvironment() }),
    )
    await new Promise((resolve) => setTimeout(resolve, 500))
    const polled = await poll.stop()
    assert.is(run.code, 0, run.output)
    assert.match(run.output, /Restart the hub container \(configuration\)/)
    console.log(`  [e2e] ${env.name}: ${polled.total} requests during the apply, ${polled.failures.length} failed`)
    assert.ok(polled.total >= 10, `polled ${polled.total} times: the polls span the apply`)
    assert.equal(polled.failures, [], 'every request through the proxy during the apply succeeded')
    assert.not.ok(kernel.closed, 'the kernel WebSocket stayed open')
    assert.is((await kernel.execute('print(7 * 6)')).trim(), '42', 'the same WebSocket answers after the apply')
  } finally {
    kernel.close()
  }
}

await whenProvisioned(() => {
  const saved = new Map<string, string>()
  const realauthUsers = realauth.devUsersFile
  let savedRealauthUsers: string | undefined

  cleanAround(testEnvironmentNames)
  test.before(() => {
    for (const env of [dummy, realauth]) saved.set(hubConfig(env), fs.readFileSync(hubConfig(env), 'utf8'))
    if (fs.existsSync(realauthUsers)) savedRealauthUsers = fs.readFileSync(realauthUsers, 'utf8')
    fs.copyFileSync(`${realauthUsers}.example`, realauthUsers)
  })
  test.after(() => {
    for (const [file, text] of saved) fs.writeFileSync(file, text)
    if (savedRealauthUsers === undefined) fs.rmSync(realauthUsers, { force: true })
    else fs.writeFileSync(realauthUsers, savedRealauthUsers)
  })

  const client = new HubClient(dummy.url)

  test(`${dummy.name}: during an apply of the hub configuration no request to a running server fails; an open kernel answers after it`, async () => {
    const up = await phase(`${dummy.name}: up`, () => npmRun('up', [dummy.name], { env: upEnvironment() }))
    assert.is(up.code, 0, up.output)
    await devLogin(client, dummy.name)
    await startServer(client)
    await phase('server ready', () => waitFor('the notebook server', 300_000, () => labAnswers(client, USER), 500))
    await applyWithTrafficFlowing(dummy, client)
  })

  test('after a restart the hub and the proxy agree: no route to a server that ended, a route to one that started', async () => {
    // The job ends while the hub is not looking (it polls running servers once a minute), then the hub restarts.
    await inSlurm(['scancel', '-u', ACCOUNT])
    announce(hubConfig(dummy), `After scancel ${Date.now()}`)
    assert.is((await npmRun('apply', [dummy.name], { env: upEnvironment() })).code, 0)
    await waitFor(
      'the hub to see the server gone',
      60_000,
      async () => ((await hubSaysReady(client)) ? undefined : true),
      500,
    )
    assert.equal(await proxyRoutes(dummy), ['/jupyter'], 'the stale route is gone; the hub route stays')
    const gone = await client.request(`${SERVER}api/status`)
    assert.is.not(gone.status, 200, 'no server answers under the route any more')

    // A server that starts while the hub restarts: the spawn is asked for, then apply runs at once.
    await startServer(client)
    announce(hubConfig(dummy), `Spawn in the restart window ${Date.now()}`)
    const run = await npmRun('apply', [dummy.name], { env: upEnvironment() })
    assert.is(run.code, 0, run.output)
    const ready = await waitFor(
      'the server started in the restart window',
      120_000,
      async () => {
        if (await hubSaysReady(client)) return true
        await startServer(client).catch(() => undefined)
        return undefined
      },
      1000,
    )
    assert.ok(ready)
    assert.equal(await proxyRoutes(dummy), ['/jupyter', `/${SERVER.replace(/\/$/, '')}`])
    assert.ok(await waitFor('JupyterLab through the proxy', 60_000, () => labAnswers(client, USER), 500))
    // A job whose start the restart cut short is cancelled, not left running unseen: within
    // moments only the server's own job is left (a cancelled job stays in the queue briefly).
    const jobs = () => inSlurm(['squeue', '-h', '-u', ACCOUNT, '-t', 'PD,CF,R', '-o', '%i'])
    const left = await waitFor(
      'one job for the one server, none left behind',
      30_000,
      async () => ((await jobs()).split('\n').filter(Boolean).length === 1 ? true : undefined),
      1000,
    ).catch(async (error: Error) => assert.unreachable(`${error.message}: ${await jobs()}`))
    assert.ok(left)
  })

  test(`${realauth.name}: the same through the login front`, async () => {
    const settings = path.join(outputDir, 'apply-proxy-realauth.yaml')
    fs.writeFileSync(settings, 'devIssuerTokenLifetime: "300"\n')
    const up = await phase(`${realauth.name}: up`, () =>
      npmRun('up', [realauth.name], { env: { ...upEnvironment(), JH_SLURM_DEPLOY_CONFIG: settings } }),
    )
    assert.is(up.code, 0, up.output)
    const front = new HubClient(realauth.url)
    // The issuer's login form, as a person fills it; the front then logs in at the hub with the token.
    const form = await front.request('jupyter/hub/spawn')
    const action = /<form method="post" action="([^"]+)"/.exec(form.body)?.[1]
    assert.ok(action, form.body)
    const password = fs.readFileSync(repoPaths().devLoginPasswordFile(realauth.name), 'utf8').trim()
    const spawn = await front.request(action.replaceAll('&amp;', '&'), { form: { username: USER, password } })
    assert.match(spawn.url, /\/jupyter\/hub\/spawn/)
    await startServer(front)
    await phase('realauth server ready', () =>
      waitFor('the notebook server', 300_000, () => labAnswers(front, USER), 500),
    )
    await applyWithTrafficFlowing(realauth, front)
  })
})

test.run()
