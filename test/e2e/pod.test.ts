// End to end, on real podman: the environment comes up, a user logs in,
// chooses a project, and a notebook server starts as a Slurm job run by that
// user; then it is stopped, torn down, and the failure paths are checked.
//
// It runs the real bricsauthenticator and slurmspawner_wrappers, cloned by the
// product's clone step from their upstream git bundles at the pinned refs.
// Needs a podman that can run the manifest (JH_SLURM_PODMAN, see
// test/e2e/provision/README.md), the stand-in base images and the bundles.
// With CI=true anything missing fails the run; elsewhere the suite is
// skipped, loudly.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { devReposFor } from '../../scripts/lib/clones.ts'
import { containerName, dnsName, ENV_LABEL, LEGACY, LEGACY_NAMES } from '../../scripts/lib/names.ts'
import { podman, podmanSucceeds } from '../../scripts/lib/podman.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { launchBrowser } from './lib/browser.ts'
import { formAction, formXsrf, HubClient, selectOptions } from './lib/browserless.ts'
import { startIssuer } from './lib/oidc-issuer.ts'
import { runCell, waitForLab } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, podmanOut, transcript, waitFor } from './lib/run.ts'
import { scratchPodman } from './lib/scratch-podman.ts'
import {
  cleanAround,
  inCI,
  othersUp,
  outputDir,
  ownLeftovers,
  ownUp,
  phase,
  timings,
  upEnvironment,
  whenProvisioned,
} from './lib/setup.ts'
import { TEST_PREFIX, testEnvironment, testEnvironmentNames } from './lib/test-environments.ts'

const dummyEnv = testEnvironment('dev_dummyauth')
const realauthEnv = testEnvironment('dev_realauth')
const DUMMY = dummyEnv.name
const REALAUTH = realauthEnv.name
const HUB = dummyEnv.url
// dev_realauth runs under a prefix of its own (deploy setting baseUrl).
const REALAUTH_BASE = '/aip1/notebooks/'
const REALAUTH_HUB = `http://127.0.0.1:${realauthEnv.hostPort}${REALAUTH_BASE}`
const dummy = dummyEnv.names
const realauth = realauthEnv.names
const HUB_CONTAINER = containerName(dummy, 'jupyterhub')
const SLURM_CONTAINER = containerName(dummy, 'slurm')
/** What is left in podman of the test environments. */
const leftovers = ownLeftovers
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const USER = 'testuser'
const ACCOUNT = 'testuser.project1'
const HOME = '/home/project1/testuser.project1'
const PROJECTS = ['project1.brics', 'project2.brics']
const realauthUsers = realauthEnv.devUsersFile

await whenProvisioned(() => {
  const upEnv = upEnvironment()
  const client = new HubClient(HUB)
  let jobId = ''
  const keyMaterial: string[] = []
  let savedRealauthUsers: string | undefined
  // Where the clone step puts each repository, as the product resolves it.
  const clones = devReposFor(repoPaths(), { ...process.env, ...upEnv })
  const clonedBefore = new Map<string, boolean>()

  const devLoginPassword = () => fs.readFileSync(repoPaths().devLoginPasswordFile(DUMMY), 'utf8').trim()

  cleanAround(testEnvironmentNames)
  test.before(() => {
    for (const { name, dest } of clones) clonedBefore.set(name, fs.existsSync(dest))
    if (inCI && [...clonedBefore.values()].some(Boolean))
      console.warn('  [e2e] clones exist already: the clone step is checked on what they hold')
    fs.mkdirSync(outputDir, { recursive: true })
    if (fs.existsSync(realauthUsers)) savedRealauthUsers = fs.readFileSync(realauthUsers, 'utf8')
  })

  test.after(async () => {
    await podmanSucceeds(['rm', '--force', HUB_CONTAINER])
    if (savedRealauthUsers === undefined) fs.rmSync(realauthUsers, { force: true })
    else fs.writeFileSync(realauthUsers, savedRealauthUsers)
    fs.writeFileSync(
      path.join(outputDir, 'e2e-timings.json'),
      `${JSON.stringify(Object.fromEntries(timings), null, 2)}\n`,
    )
    console.log(`  [e2e] phase timings (s): ${timings.map(([n, s]) => `${n} ${s.toFixed(1)}`).join('; ')}`)
  })

  test(`1. up ${DUMMY} exits 0 and the pod runs both containers`, async () => {
    const run = await phase(`up ${DUMMY} (builds images)`, () => npmRun('up', [DUMMY], { env: upEnv }))
    assert.is(run.code, 0, 'npm run up failed')
    for (const [name, ref] of [
      ['bricsauthenticator', 'v0\\.7\\.0'],
      ['slurmspawner_wrappers', 'v0\\.2\\.1'],
    ] as const) {
      // A fresh checkout (as in CI) must run the clone step, from the bundle, at the pin ...
      if (!clonedBefore.get(name))
        assert.match(run.output, new RegExp(`${name}: cloned \\S+${name}\\.bundle at ${ref} \\(commit [0-9a-f]{12}\\)`))
      // ... and a kept clone must hold the pin, or this run did not test the pinned code.
      else assert.match(run.output, new RegExp(`${name}: \\S+ exists, clone skipped \\(commit [0-9a-f]{12}\\)`))
    }
    assert.not.match(run.output, /warning: (bricsauthenticator|slurmspawner_wrappers)/)
    for (const { dest } of clones) assert.ok(fs.existsSync(path.join(dest, 'pyproject.toml')), dest)
    const pod = JSON.parse(await podmanOut(['pod', 'inspect', dummy.pod])) as
      | { State: string }
      | Array<{ State: string }>
    assert.is(Array.isArray(pod) ? pod[0]?.State : pod.State, 'Running')
    const states = await podmanOut(['ps', '--filter', `pod=${dummy.pod}`, '--format', '{{.Names}} {{.State}}'])
    assert.match(states, new RegExp(`${HUB_CONTAINER} running`))
    assert.match(states, new RegExp(`${SLURM_CONTAINER} running`))
    keyMaterial.push(await podmanOut(['exec', HUB_CONTAINER, 'cat', '/srv/jupyterhub/ssh_key']))
    keyMaterial.push(await inSlurm(['cat', '/etc/ssh/ssh_host_ed25519_key']))
  })

  test('2. the hub answers /hub/health', async () => {
    const status = await waitFor('hub health', 60_000, async () => {
      const r = await fetch(new URL('jupyter/hub/health', HUB), { signal: AbortSignal.timeout(5000) })
      return r.ok ? r.status : undefined
    })
    assert.is(status, 200)
  })

  test('the Slurm container refuses bad user names too, and made the good ones', async () => {
    const hook = '/usr/local/lib/slurm-pod/start.d/10-create-dev-users.sh'
    for (const bad of ['Bad.project', 'user;id.project', 'a.b.c', `${'u'.repeat(30)}.pp`]) {
      const run = await podman(['exec', '-e', `DEV_USER_CONFIG_UNIX_USERNAMES=${bad}`, SLURM_CONTAINER, hook], {
        nothrow: true,
      })
      assert.is.not(run.exitCode, 0, bad)
      assert.match(run.stderr, /invalid name/, bad)
    }
    // A project becomes a group: one named like a system group would hand its users that group's rights.
    const systemGroup = await podman(['exec', '-e', 'DEV_USER_CONFIG_UNIX_USERNAMES=eve.sudo', SLURM_CONTAINER, hook], {
      nothrow: true,
    })
    assert.is.not(systemGroup.exitCode, 0)
    assert.match(systemGroup.stderr, /project 'sudo' of 'eve\.sudo' is the name of a system group/)
    assert.is((await podman(['exec', SLURM_CONTAINER, 'id', 'eve.sudo'], { nothrow: true })).exitCode, 1)
    assert.match(await inSlurm(['id', ACCOUNT]), /jupyterusers/)
    assert.match(await inSlurm(['id', '-nG', ACCOUNT]), /\bproject1\b/)
    assert.match(
      await inSlurm(['getent', 'passwd', 'otheruser.project1']),
      /:\/home\/project1\/otheruser\.project1:\/bin\/bash$/,
    )
    const sudo = await inSlurm(['sudo', '-l', '-U', 'jupyterspawner'])
    assert.match(sudo, /\(%jupyterusers\) NOPASSWD: .*slurmspawner_sbatch/)
    assert.not.match(sudo, /\(ALL/)
  })

  test("homes are private; a project's directory is its members' only", async () => {
    const as = (user: string, command: string[]) =>
      podman(['exec', '--user', user, SLURM_CONTAINER, ...command], { nothrow: true })
    assert.is(await inSlurm(['stat', '-c', '%a %U', HOME]), `700 ${ACCOUNT}`)
    assert.is((await as(ACCOUNT, ['cat', `${HOME}/.bashrc`])).exitCode, 0)
    // Another user of the same project can neither list nor read it.
    for (const command of [
      ['ls', HOME],
      ['cat', `${HOME}/.bashrc`],
    ]) {
      const peek = await as('otheruser.project1', command)
      assert.is.not(peek.exitCode, 0, command.join(' '))
      assert.match(peek.stderr, /Permission denied/)
    }
    assert.is(await inSlurm(['stat', '-c', '%a %U %G', '/projects/project1']), '2770 root project1')
    assert.is((await as('otheruser.project1', ['touch', '/projects/project1/from-otheruser'])).exitCode, 0)
    assert.is(await inSlurm(['stat', '-c', '%G', '/projects/project1/from-otheruser']), 'project1')
    assert.match((await as('testuser.project2', ['ls', '/projects/project1'])).stderr, /Permission denied/)
    // The public half: written by the project, read by all.
    assert.is((await as(ACCOUNT, ['touch', '/projects/project1/public/shared'])).exitCode, 0)
    assert.is((await as('testuser.project2', ['ls', '/projects/public/project1'])).stdout.trim(), 'shared')
  })

  test('the images hold the pinned releases of the real packages', async () => {
    const hub = await podmanOut(['exec', HUB_CONTAINER, 'python3', '-m', 'pip', 'show', 'bricsauthenticator'])
    assert.match(hub, /^Version: 0\.7\.0$/m)
    assert.match(hub, /Location: \/srv\/venv\//, "installed next to JupyterHub, in the base image's venv")
    assert.match(await podmanOut(['exec', HUB_CONTAINER, 'jupyterhub', '--version']), /^5\.4\.2/)
    const slurm = await inSlurm(['/opt/jupyter/slurmspawner_wrappers/bin/pip', 'show', 'slurmspawner_wrappers'])
    assert.match(slurm, /^Version: 0\.2\.1$/m)
  })

  test('the real packages pass their own test suites inside the dev images', async () => {
    const hub = await podman(
      [
        'exec',
        HUB_CONTAINER,
        'sh',
        '-c',
        'cd /srv/dev_data/bricsauthenticator && python3 -m pytest -q -p no:cacheprovider tests',
      ],
      { nothrow: true },
    )
    assert.is(hub.exitCode, 0, `${hub.stdout}${hub.stderr}`)
    assert.match(hub.stdout, /\d+ passed/)
    const slurm = await podman(
      [
        'exec',
        SLURM_CONTAINER,
        'sh',
        '-c',
        'cd /srv/dev_data/slurmspawner_wrappers && /opt/jupyter/slurmspawner_wrappers/bin/python -m pytest -q -p no:cacheprovider tests',
      ],
      { nothrow: true },
    )
    assert.is(slurm.exitCode, 0, `${slurm.stdout}${slurm.stderr}`)
    assert.match(slurm.stdout, /\d+ passed/)
    const summary = (out: string) => out.trim().split('\n').pop()
    console.log(
      `  [e2e] pytest in the hub image, bricsauthenticator: ${summary(hub.stdout)}; in the Slurm image, slurmspawner_wrappers: ${summary(slurm.stdout)}`,
    )
  })

  test('a second up is refused and leaves the running environment alone', async () => {
    const run = await npmRun('up', [DUMMY], { env: upEnv })
    assert.is(run.code, 1)
    assert.match(
      run.output,
      new RegExp(
        `error: environment ${DUMMY} is already up \\(pod ${dummy.pod} and \\d+ more\\); run \`jh-slurm-pod down ${DUMMY}\` first`,
      ),
    )
    assert.ok(await podmanSucceeds(['pod', 'exists', dummy.pod]))
    assert.ok((await fetch(new URL('jupyter/hub/health', HUB))).ok)
  })

  test('3. the dummy login needs the password, then offers exactly project1 and project2', async () => {
    let page = await client.request('jupyter/hub/login')
    assert.is(page.status, 200)
    const refused = await client.request('jupyter/hub/login', {
      form: { _xsrf: formXsrf(page.body), password: 'not-the-password' },
    })
    assert.is(refused.status, 403)
    const without = await client.request('jupyter/hub/login', { form: { _xsrf: formXsrf(refused.body) } })
    assert.is(without.status, 403)
    assert.not.ok(client.cookies.has('jupyterhub-hub-login'))
    page = await client.request('jupyter/hub/login', {
      form: { _xsrf: formXsrf(without.body), password: devLoginPassword() },
    })
    assert.is(page.status, 200)
    assert.match(page.url, /\/jupyter\/hub\/spawn$/)
    assert.equal(selectOptions(page.body, 'brics_project'), PROJECTS)
  })

  test('4. submitting project1 runs sbatch over SSH as testuser.project1', async () => {
    const form = await client.request('jupyter/hub/spawn')
    await phase('spawn request', () =>
      client.request(formAction(form.body), {
        form: { brics_project: 'project1.brics', runtime: '01:00:00', ngpus: '1', partition: '', reservation: '' },
      }),
    )
    const job = await waitFor('the job in squeue', 120_000, async () => {
      const lines = (await inSlurm(['squeue', '-h', '-o', '%i|%u|%j|%T'])).split('\n').filter(Boolean)
      return lines.map((l) => l.split('|')).find((f) => f[1] === ACCOUNT)
    })
    jobId = job[0] as string
    assert.is(job[2], 'spawner-jupyterhub')
    const details = await inSlurm(['scontrol', 'show', 'job', jobId])
    assert.match(details, new RegExp(`UserId=${ACCOUNT.replace('.', '\\.')}\\(`))
    // The GPU the form asked for, on one node (upstream's req_options).
    assert.match(details, /TresPerJob=gres:gpu:1\b/)
    assert.match(details, /NumNodes=1\b/)
    const script = await inSlurm(['scontrol', 'write', 'batch_script', jobId, '-'])
    assert.match(script, /^#SBATCH --gpus=1$/m)
    assert.match(script, /^#SBATCH --nodes=1$/m)
    const log = `${HOME}/jupyterhub_slurmspawner_${jobId}.log`
    await waitFor(
      'the job log',
      60_000,
      async () =>
        await inSlurm(['test', '-f', log]).then(
          () => true,
          () => undefined,
        ),
    )
    assert.is(await inSlurm(['stat', '-c', '%U', log]), ACCOUNT)
    const sshd = await inSlurm(['cat', '/var/log/sshd.log'])
    assert.match(sshd, /Accepted publickey for jupyterspawner from (127\.0\.0\.1|::1)/)
  })

  test('5. the server becomes ready and answers through the proxy', async () => {
    const lab = await phase('server ready', () => waitForLab(client, USER))
    assert.match(lab.body, /JupyterLab/)
    const status = await client.request(`jupyter/user/${USER}/api/status`)
    assert.is(status.status, 200)
    assert.ok(typeof JSON.parse(status.body).started === 'string')
  })

  test('6. stopping the server cancels the job', async () => {
    const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}: ${stop.body}`)
    await phase('job leaves the queue', () =>
      waitFor('the job to leave the queue', 120_000, async () => {
        const queue = await inSlurm(['squeue', '-h', '-j', jobId, '-o', '%T']).catch(() => '')
        return queue === '' || /COMPLETED|CANCELLED/.test(queue) ? true : undefined
      }),
    )
    const user = JSON.parse((await client.api(`jupyter/hub/api/users/${USER}`)).body)
    assert.equal(user.servers ?? {}, {})
  })

  test('8. in a real browser: log in, choose project1, run a notebook cell in the Slurm job', async () => {
    const browser = await launchBrowser()
    let output = ''
    let browserJob = ''
    try {
      const page = await browser.newPage()
      await phase('browser: login to JupyterLab', async () => {
        await page.goto(new URL('jupyter/hub/login', HUB).toString())
        await page.fill('input[name="password"]', devLoginPassword())
        await Promise.all([page.waitForURL(/\/hub\/spawn/), page.click('button[type="submit"], input[type="submit"]')])
        await page.selectOption('select[name="brics_project"]', 'project1.brics')
        await page.selectOption('select[name="ngpus"]', '2')
        await page.click(
          '#spawn_form input[type="submit"], #spawn_form button[type="submit"], form input[type="submit"], form button[type="submit"]',
        )
        await page.waitForURL(new RegExp(`/jupyter/user/${USER}/lab`), { timeout: 420_000 })
        await page.waitForSelector('.jp-Launcher', { timeout: 120_000 })
      })
      browserJob = (await inSlurm(['squeue', '-h', '-u', ACCOUNT, '-o', '%i'])).trim()
      assert.match(browserJob, /^\d+$/, 'exactly one job runs for testuser.project1')
      await phase('browser: notebook cell runs', async () => {
        // What a user does: open a notebook from the launcher, type a cell, run it.
        output = await runCell(
          page,
          'import os, pwd; print("RESULT", pwd.getpwuid(os.getuid()).pw_name, os.environ.get("SLURM_JOB_ID"), os.environ.get("SLURM_GPUS_ON_NODE"))',
        )
      })
      await page.screenshot({ path: path.join(outputDir, 'jupyterlab.png') })
    } catch (error) {
      const page = browser.contexts()[0]?.pages()[0]
      await page?.screenshot({ path: path.join(outputDir, 'jupyterlab-failure.png') }).catch(() => undefined)
      throw error
    } finally {
      await browser.close()
    }
    // The 2 GPUs picked in the form reached the job.
    assert.is(output.trim(), `RESULT ${ACCOUNT} ${browserJob} 2`)
    assert.match(await inSlurm(['scontrol', 'show', 'job', browserJob]), /TresPerJob=gres:gpu:2\b/)
    const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}`)
    await waitFor('the browser-started job to end', 120_000, async () =>
      (await inSlurm(['squeue', '-h', '-u', ACCOUNT])) === '' ? true : undefined,
    )
  })

  test('the hub log holds no locale warning from the ssh commands it ran', async () => {
    const logs = await podman(['logs', HUB_CONTAINER])
    const log = `${logs.stdout}${logs.stderr}`
    assert.match(log, /slurmspawner_squeue/, 'the hub ran ssh commands and logged them')
    assert.not.match(log, /setlocale/)
    // ssh does pass the hub's locale on: one the Slurm node lacks is warned about (and would be in the log).
    const ssh = (locale: string) =>
      podman(
        [
          'exec',
          '-e',
          `LC_ALL=${locale}`,
          HUB_CONTAINER,
          'ssh',
          '-o',
          'BatchMode=yes',
          '-i',
          '/srv/jupyterhub/ssh_key',
          'jupyterspawner@localhost',
          'true',
        ],
        { nothrow: true },
      )
    assert.match((await ssh('xx_XX.UTF-8')).stderr, /setlocale: LC_ALL: cannot change locale \(xx_XX\.UTF-8\)/)
    assert.not.match((await ssh('en_US.UTF-8')).stderr, /setlocale/)
  })

  test(`9. ${REALAUTH} comes up beside ${DUMMY}: tokens from a real issuer; only valid ones with a project on the platform get in`, async () => {
    const audience = 'e2e-jupyter'
    const platform = 'e2e.notebooks.shared'
    const issuer = await startIssuer(audience)
    const inRealauthSlurm = (command: string[]) => inSlurm(command, REALAUTH)
    try {
      fs.writeFileSync(realauthUsers, 'testuser.project1\ntestuser.project2\n')
      const settings = path.join(outputDir, 'realauth-deploy-config.yaml')
      fs.writeFileSync(
        settings,
        `oidcServer: ${issuer.url}\nbricsPlatform: ${platform}\njwtAudience: ${audience}\njwtLeeway: "5"\nbaseUrl: ${REALAUTH_BASE}\n`,
      )
      const run = await phase(`up ${REALAUTH}`, () =>
        npmRun('up', [REALAUTH], { env: { ...upEnv, JH_SLURM_DEPLOY_CONFIG: settings } }),
      )
      assert.is(run.code, 0)
      assert.ok(run.output.includes(`Environment ${REALAUTH} is up: ${REALAUTH_HUB}\n`), run.output)
      // Nothing answers under the default prefix.
      assert.not.ok((await fetch(new URL('/jupyter/hub/health', REALAUTH_HUB))).ok)

      // v0.7.0's claims: project1 has a resource on the configured platform, project2 only elsewhere.
      const claims = {
        short_name: USER,
        projects: {
          'project1.brics': {
            name: 'Project One',
            resources: [
              { name: platform, username: ACCOUNT },
              { name: 'e2e.clusters.shared', username: ACCOUNT },
            ],
          },
          'project2.brics': {
            name: 'Project Two',
            resources: [{ name: 'e2e.clusters.shared', username: 'testuser.project2' }],
          },
        },
      }
      const offPlatform = { short_name: USER, projects: { 'project2.brics': claims.projects['project2.brics'] } }
      const refusals: Array<[string, string | undefined, number]> = [
        ['no token', undefined, 401],
        ['an expired token', await issuer.token(claims, { expiresIn: -600 }), 401],
        ['the wrong audience', await issuer.token(claims, { audience: 'someone-else' }), 401],
        ['the wrong issuer', await issuer.token(claims, { issuer: 'http://elsewhere.example/realms/e2e' }), 401],
        ['a bad signature', await issuer.token(claims, { foreignKey: true }), 401],
        ['no project on the platform', await issuer.token(offPlatform), 403],
      ]
      for (const [what, token, status] of refusals) {
        const stranger = new HubClient(REALAUTH_HUB)
        const response = await stranger.request('hub/login', {
          headers: token ? { 'X-Auth-Id-Token': token } : {},
        })
        assert.is(response.status, status, `${what}: ${response.status}`)
        assert.not.ok(stranger.cookies.has('jupyterhub-hub-login'), `${what}: logged in`)
      }
      assert.is(await inRealauthSlurm(['squeue', '-h']), '', 'a refused login spawned a job')
      assert.ok(
        (issuer.hits.get('/realms/e2e/protocol/openid-connect/certs') ?? 0) > 0,
        'the hub fetched the JWKS from the issuer',
      )

      const user = new HubClient(REALAUTH_HUB)
      const form = await user.request('hub/login', {
        headers: { 'X-Auth-Id-Token': await issuer.token(claims) },
      })
      assert.is(form.status, 200)
      assert.match(form.url, new RegExp(`:${realauthEnv.hostPort}/aip1/notebooks/hub/spawn$`))
      assert.equal(selectOptions(form.body, 'brics_project'), ['project1.brics'])
      await phase('realauth: spawn request', () =>
        user.request(formAction(form.body), {
          form: { brics_project: 'project1.brics', runtime: '01:00:00', ngpus: '1', partition: '', reservation: '' },
        }),
      )
      const job = await waitFor('the realauth job in squeue', 120_000, async () => {
        const line = (await inRealauthSlurm(['squeue', '-h', '-o', '%i|%u']))
          .split('\n')
          .find((l) => l.endsWith(`|${ACCOUNT}`))
        return line?.split('|')[0]
      })
      await phase('realauth: server ready', () =>
        waitFor(
          'the realauth notebook server',
          420_000,
          async () => {
            const r = await user.request(`user/${USER}/lab`)
            return r.status === 200 && r.url.includes(`${REALAUTH_BASE}user/${USER}/lab`) ? r : undefined
          },
          2000,
        ),
      )
      assert.match(
        await inRealauthSlurm(['scontrol', 'show', 'job', job]),
        new RegExp(`UserId=${ACCOUNT.replace('.', '\\.')}\\(`),
      )
      // The job ran in dev_realauth's own Slurm, not in the other environment's.
      assert.is(await inSlurm(['squeue', '-h']), '')
      const stop = await user.api(`hub/api/users/${USER}/server`, 'DELETE')
      assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}`)
      await waitFor('the realauth job to end', 120_000, async () =>
        (await inRealauthSlurm(['squeue', '-h'])) === '' ? true : undefined,
      )
    } finally {
      await issuer.close()
    }
  })

  test('10. status shows both environments running, each answering on its own URL', async () => {
    for (const health of [new URL('jupyter/hub/health', HUB), new URL('hub/health', REALAUTH_HUB)])
      assert.ok((await fetch(health)).ok, health.toString())
    const text = await npmRun('status')
    assert.is(text.code, 0)
    // The hub, its proxy and Slurm, in whatever order podman lists them.
    const RUNNING = '\\((?=[^)]*jupyterhub running)(?=[^)]*proxy running)(?=[^)]*slurm running)[^)]*\\)'
    assert.match(text.output, new RegExp(`${DUMMY}\\s+${literal(HUB)}jupyter/\\s+pod ${dummy.pod} Running ${RUNNING}`))
    assert.match(
      text.output,
      new RegExp(`${REALAUTH}\\s+${literal(REALAUTH_HUB)}\\s+pod ${realauth.pod} Running ${RUNNING}`),
    )
    const json = await npmRun('status', ['--json'])
    assert.is(json.code, 0)
    const { environments } = JSON.parse(json.output) as {
      environments: Array<{
        environment: string
        url: string
        pod: { state: string }
        containers: Array<{ name: string; state: string }>
      }>
    }
    // Environments up that are not the tests' (a developer's) are theirs, not checked here.
    const tests = environments.filter((e) => e.environment.startsWith(TEST_PREFIX))
    assert.equal(
      tests.map((e) => [e.environment, e.url, e.pod.state]),
      [
        [DUMMY, `${HUB}jupyter/`, 'Running'],
        [REALAUTH, REALAUTH_HUB, 'Running'],
      ],
    )
    for (const e of tests) {
      const states = e.containers.map((c) => `${c.name} ${c.state}`)
      for (const container of ['accounting', 'jupyterhub', 'proxy', 'slurm'])
        assert.ok(states.includes(`${container} running`), `${e.environment}: ${states.join(', ')}`)
      assert.ok(
        e.containers.every((c) => c.state === 'running'),
        `${e.environment}: ${states.join(', ')}`,
      )
    }
  })

  test('11. down without an environment, with several up and no terminal, names them and removes nothing', async () => {
    const others = await othersUp()
    const run = await npmRun('down')
    assert.is(run.code, 2)
    // Listed as `down` lists them: by name, the old fixed names last.
    const named = [...others.filter((e) => e !== LEGACY), DUMMY, REALAUTH].sort()
    const listed = [...named, ...(others.includes(LEGACY) ? [`${LEGACY} of an earlier version`] : [])]
    assert.ok(
      run.output.includes(
        `error: several environments are up (${listed.join(', ')}); name one (jh-slurm-pod down <env>) or remove them all (jh-slurm-pod down --all)`,
      ),
      run.output,
    )
    assert.ok(await podmanSucceeds(['pod', 'exists', dummy.pod]))
    assert.ok(await podmanSucceeds(['pod', 'exists', realauth.pod]))
  })

  test(`12. down ${REALAUTH} removes it only; ${DUMMY} keeps serving`, async () => {
    const others = await othersUp()
    const run = await phase(`down ${REALAUTH}`, () => npmRun('down', [REALAUTH]))
    assert.is(run.code, 0)
    assert.ok(run.output.includes(`removed pod ${realauth.pod}`), run.output)
    for (const kept of [DUMMY, ...others])
      assert.not.ok(run.output.includes(dnsName(kept)), `${kept} named: ${run.output}`)
    assert.equal(
      (await ownUp()).map((e) => e.names.env),
      [DUMMY],
    )
    assert.equal(await othersUp(), others, "the environments that are not the tests' are up as before")
    assert.ok((await fetch(new URL('jupyter/hub/health', HUB))).ok)
    const status = await npmRun('status')
    assert.not.match(status.output, new RegExp(`\\b${REALAUTH}\\b`))
  })

  test('13. resources under the old fixed names: up explains, status lists them, down --all removes everything', async () => {
    // `down --all` removes every environment podman holds, a developer's too: it
    // runs on a store of the test's own, holding the suite's environment (its
    // resources under its names) and what an earlier version left under the
    // fixed names: its pod, a volume and a secret.
    const store = await scratchPodman(path.join(outputDir, 'podman-down-all'))
    const inStore = { env: { JH_SLURM_PODMAN: store.command.join(' ') } }
    try {
      const secretFile = path.join(outputDir, 'old-secret')
      fs.writeFileSync(secretFile, 'old\n', { mode: 0o600 })
      const label = ['--label', `${ENV_LABEL}=${DUMMY}`]
      await store.run(['pod', 'create', '--infra=false', ...label, '--name', dummy.pod])
      await store.run(['volume', 'create', ...label, dummy.volumes.jupyterhub])
      await store.run(['secret', 'create', dummy.secrets.devLogin, secretFile])
      await store.run(['pod', 'create', '--infra=false', '--name', LEGACY_NAMES.pod])
      await store.run(['volume', 'create', LEGACY_NAMES.volumes.jupyterhub])
      await store.run(['secret', 'create', LEGACY_NAMES.secrets.devLogin, secretFile])
      fs.rmSync(secretFile)
      assert.ok(fs.existsSync(repoPaths().devLoginPasswordFile(DUMMY)), 'the password file of the running environment')
      const refused = await npmRun('up', [REALAUTH], { env: { ...upEnv, ...inStore.env } })
      assert.is(refused.code, 1)
      assert.match(
        refused.output,
        /error: an environment from an earlier version is still up under the old fixed names \(pod jupyterhub-slurm and 2 more\); remove it with `jh-slurm-pod down --all`/,
      )
      assert.is(await store.run(['pod', 'ls', '--filter', `name=${realauth.pod}`, '--format', '{{.Name}}']), '')
      assert.match((await npmRun('status', [], inStore)).output, /\(old fixed names\)/)

      const run = await phase('down --all', () => npmRun('down', ['--all'], inStore))
      assert.is(run.code, 0)
      assert.ok(run.output.includes(`removed pod ${dummy.pod}\n`), run.output)
      assert.match(run.output, /removed pod jupyterhub-slurm\n/)
      assert.match(run.output, /removed volume jupyterhub_root/)
      assert.match(run.output, /removed secret jupyterhub-dev-login/)
      assert.is(await store.run(['pod', 'ls', '--format', '{{.Name}}']), '')
      assert.is(await store.run(['volume', 'ls', '--format', '{{.Name}}']), '')
      assert.is(await store.run(['secret', 'ls', '--format', '{{.Name}}']), '')
      assert.not.ok(fs.existsSync(repoPaths().devLoginPasswordFile(DUMMY)))
      const again = await npmRun('down', [], inStore)
      assert.is(again.code, 0)
      assert.match(again.output, /nothing to remove/)
      const status = await npmRun('status', [], inStore)
      assert.is(status.code, 0)
      assert.match(status.output, /no environment is up/)
    } finally {
      await store.remove()
    }
    // In the default store, the suite's own environment goes by its name.
    const down = await phase(`down ${DUMMY}`, () => npmRun('down', [DUMMY]))
    assert.is(down.code, 0)
    assert.ok(down.output.includes(`removed pod ${dummy.pod}`), down.output)
    assert.equal(await leftovers(), [])
    assert.is(await podmanOut(['ps', '-a', '--filter', `name=${dummy.pod}`, '--format', '{{.Names}}']), '')
  })

  test('a failure in the middle of up rolls back everything it made', async () => {
    // A container holding the hub container's name makes `kube play` fail
    // after the volumes exist and the secrets are made.
    await podmanOut(['create', '--name', HUB_CONTAINER, 'localhost/test-double/debian:bookworm', 'true'])
    try {
      const run = await phase('up with a forced failure', () => npmRun('up', [DUMMY], { env: upEnv }))
      assert.is(run.code, 1)
      assert.match(run.output, /rolling back what this run created/)
      assert.ok(run.output.includes(`removed volume ${dummy.volumes.jupyterhub}`), run.output)
      assert.equal(await leftovers(), [])
    } finally {
      await podmanOut(['rm', '--force', HUB_CONTAINER])
    }
  })

  const buildDirs = () => fs.readdirSync(repoPaths().buildTmp).filter((n) => n.startsWith('jh_slurm_pod_'))

  test('an interrupt (SIGINT) during up rolls back and exits 130', async () => {
    const before = buildDirs()
    const run = await npmRun('up', [DUMMY], {
      // A build line the images were not made with (one stage at a time):
      // `up` cannot skip the builds, and podman builds from its cache, which
      // keeps the run in the build step long enough to interrupt it there.
      env: { ...upEnv, JH_SLURM_STAGE_JOBS: '1' },
      via: 'node',
      watch: (output) => (output.includes(`Create and fill ${dummy.volumes.slurm}`) ? 'SIGINT' : undefined),
    })
    assert.is(run.code, 130)
    assert.match(run.output, /SIGINT received: stopping/, 'said in the list, as the output of the running step')
    assert.match(run.output, /interrupted by SIGINT/)
    assert.equal(await leftovers(), [])
    assert.equal(buildDirs(), before)
    assert.not.match(run.output, /Start pod/)
  })

  test('a run killed with SIGKILL leaves its build directory; down removes it and what the run made', async () => {
    const before = buildDirs()
    const run = await npmRun('up', [DUMMY], {
      env: upEnv,
      via: 'node',
      // Once a volume is made and filled (volumes are made while the images build).
      watch: (output) =>
        new RegExp(`${dummy.volumes.slurm}: \\d+ entries owned by`).test(output) ? 'SIGKILL' : undefined,
    })
    assert.is(run.signal, 'SIGKILL')
    const left = buildDirs().filter((d) => !before.includes(d))
    assert.is(left.length, 1, 'the killed run left its build directory')
    assert.ok((await leftovers()).length > 0, 'the killed run left volumes')
    // `down` alone takes the one environment that is up; with others up (a developer's), it must be named.
    const down = await npmRun('down', (await othersUp()).length ? [DUMMY] : [])
    assert.is(down.code, 0)
    assert.match(
      down.output,
      new RegExp(`removed build directory _build_tmp/${left[0]?.replace('.', '\\.')} left by a run that died`),
    )
    assert.ok(down.output.includes(`removed volume ${dummy.volumes.jupyterhub}`), down.output)
    assert.equal(buildDirs(), before)
    assert.equal(await leftovers(), [])
  })

  test('no private key appeared in any output', () => {
    assert.is(keyMaterial.length, 2)
    const body = (key: string) => key.split('\n').filter((l) => l && !l.startsWith('-----'))
    const all = transcript.join('\n')
    assert.ok(all.length > 1000, 'the transcript holds the output of every run')
    for (const key of keyMaterial) {
      assert.ok(body(key).length > 2)
      for (const line of body(key)) assert.not.ok(all.includes(line), 'a line of a private key was printed')
    }
  })
})

test.run()
