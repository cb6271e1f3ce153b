// End to end, on real podman: edits reach a running dev_dummyauth (its test copy) through
// `npm run apply` as a user makes them (the clone, the hub configuration,
// dev_users, the deploy settings, a Containerfile), each seen from outside;
// a server started before a hub-only apply keeps answering; a broken
// configuration is reported and then fixed; `logs` shows each log, including
// why a spawn failed; watch mode applies a saved edit.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { devReposFor } from '../../scripts/lib/clones.ts'
import { exec } from '../../scripts/lib/exec.ts'
import { containerName, imageRef } from '../../scripts/lib/names.ts'
import { podmanSucceeds } from '../../scripts/lib/podman.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { formAction, HubClient } from './lib/browserless.ts'
import { devLogin, labAnswers, spawnForm } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, podmanOut, waitFor } from './lib/run.ts'
import { cleanAround, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { TEST_TAG, testEnvironment, testEnvironmentNames, testName } from './lib/test-environments.ts'

const dummy = testEnvironment('dev_dummyauth')
const ENV = dummy.name
const HUB = dummy.url
const { names } = dummy
const HUB_CONTAINER = containerName(names, 'jupyterhub')
const SLURM_CONTAINER = containerName(names, 'slurm')
const USER = 'testuser'
const ACCOUNT = 'testuser.project1'
const repo = repoPaths()

/** The files the tests edit, as a user would; each is put back afterwards. */
const files = {
  hubConfig: path.join(dummy.volumesDir, 'jupyterhub_root', 'etc', 'jupyterhub', 'jupyterhub_config.py'),
  devUsers: dummy.devUsersFile,
  deployConfig: path.join(dummy.configDir, 'deploy-config.yaml'),
  slurmContainerfile: path.join(repoRoot, 'brics_slurm', 'Containerfile'),
}
const FORM_FILE = path.join('src', 'bricsauthenticator', 'spawner_options_form.py')

const edit = (file: string, change: (text: string) => string) =>
  fs.writeFileSync(file, change(fs.readFileSync(file, 'utf8')))
const announce = (text: string) => (config: string) =>
  `${config.replace(/\n# e2e announcement[\s\S]*$/, '\n')}# e2e announcement\nc = get_config()  # noqa: F821\nc.JupyterHub.template_vars = {"announcement": "${text}"}\n`

await whenProvisioned(() => {
  const upEnv = upEnvironment()
  const client = new HubClient(HUB)
  const saved = new Map<string, string>()
  const clone = devReposFor(repo, { ...process.env, ...upEnv }).find((r) => r.name === 'bricsauthenticator')
  const apply = (args: string[] = []) => npmRun('apply', [ENV, ...args], { env: upEnv })
  const jobOf = async () => (await inSlurm(['squeue', '-h', '-u', ACCOUNT, '-o', '%i'])).trim()
  let jobId = ''

  async function startServer(): Promise<void> {
    const form = await client.request('jupyter/hub/spawn')
    await client.request(formAction(form.body), { form: spawnForm() })
  }

  /** The server started before still answers through the proxy, and it is the same Slurm job. */
  async function sameServerAnswers(timeoutMs: number, intervalMs: number): Promise<void> {
    await waitFor('the server through the proxy', timeoutMs, () => labAnswers(client, USER), intervalMs)
    assert.is(await jobOf(), jobId, 'the same Slurm job')
  }

  cleanAround(testEnvironmentNames)
  test.before(() => {
    for (const file of Object.values(files)) saved.set(file, fs.readFileSync(file, 'utf8'))
  })

  test.after(async () => {
    for (const [file, text] of saved) fs.writeFileSync(file, text)
    if (clone) await exec(['git', '-C', clone.dest, 'checkout', '--', FORM_FILE], { nothrow: true })
  })

  test('up, log in; apply with nothing changed says so and does nothing', async () => {
    const up = await phase('apply suite: up', () => npmRun('up', [ENV], { env: upEnv }))
    assert.is(up.code, 0, 'up failed')
    assert.match((await devLogin(client, ENV)).url, /\/jupyter\/hub\/spawn$/)
    const hubId = await podmanOut(['container', 'inspect', '--format', '{{.Id}}', HUB_CONTAINER])
    const run = await apply()
    assert.is(run.code, 0)
    assert.match(run.output, new RegExp(`${ENV}: nothing changed since the last up or apply, nothing to do`))
    assert.is(
      await podmanOut(['container', 'inspect', '--format', '{{.Id}} {{.RestartCount}}', HUB_CONTAINER]),
      `${hubId} 0`,
    )
  })

  test('a clone edit shows in the spawn form after apply, without an image build; the login survives', async () => {
    assert.ok(clone, 'the bricsauthenticator clone')
    edit(path.join(clone.dest, FORM_FILE), (t) => t.replace('Choose a project:', 'Choose a project (edited clone):'))
    const run = await phase('apply: clone edit', () => apply())
    assert.is(run.code, 0)
    assert.match(run.output, /Restart the hub container \(bricsauthenticator\)/)
    assert.not.match(run.output, /Rebuild|STEP \d/)
    const form = await client.request('jupyter/hub/spawn')
    assert.is(form.status, 200, 'still logged in: same database and cookie secret')
    assert.match(form.body, /Choose a project \(edited clone\):/)
  })

  test('a server started before a hub configuration edit keeps answering; the edit shows in the page', async () => {
    await startServer()
    await phase('apply suite: server ready', () =>
      waitFor('the notebook server', 300_000, () => labAnswers(client, USER), 1000),
    )
    jobId = await jobOf()
    assert.match(jobId, /^\d+$/)
    edit(files.hubConfig, announce('Announcement from the e2e apply test'))
    const run = await phase('apply: configuration edit', () => apply())
    assert.is(run.code, 0)
    assert.match(
      run.output,
      new RegExp(
        `Copy the hub configuration into ${names.volumes.jupyterhub}: \\./etc/jupyterhub/jupyterhub_config\\.py`,
      ),
    )
    assert.match((await client.request('jupyter/hub/home')).body, /Announcement from the e2e apply test/)
    await sameServerAnswers(30_000, 500)
  })

  test('a broken configuration is reported with the hub log lines that say why; the fix brings the hub back', async () => {
    edit(files.hubConfig, (t) => `${t}this is not python(\n`)
    const broken = await phase('apply: broken configuration', () => apply(['--wait', '60']))
    assert.is(broken.code, 1)
    assert.match(broken.output, /SyntaxError/)
    assert.not.match(broken.output, /Received signal SIGTERM/, 'the lines that say why, not the restart before')
    assert.match(broken.output, /error: the hub did not come back/)
    assert.ok(await podmanSucceeds(['pod', 'exists', names.pod]), 'the environment stays up')
    edit(files.hubConfig, (t) => t.replace('this is not python(\n', ''))
    const fixed = await phase('apply: fixed configuration', () => apply())
    assert.is(fixed.code, 0)
    assert.ok((await fetch(new URL('jupyter/hub/health', HUB))).ok)
    await sameServerAnswers(60_000, 1000)
  })

  test('a new dev user is created in the Slurm container; none is removed silently', async () => {
    edit(files.devUsers, (t) => t.replace('otheruser.project1', 'newuser.project3'))
    const run = await phase('apply: dev users', () => apply())
    assert.is(run.code, 0)
    assert.match(run.output, /Create dev users in the Slurm container: newuser\.project3/)
    assert.match(run.output, /Kept the Unix accounts and homes of users no longer in dev_users: otheruser\.project1/)
    assert.match(await inSlurm(['getent', 'passwd', 'newuser.project3']), /:\/home\/project3\/newuser\.project3:/)
    assert.match(await inSlurm(['getent', 'passwd', 'otheruser.project1']), /otheruser/)
    const env = await podmanOut(['exec', HUB_CONTAINER, 'printenv', 'DEV_USER_CONFIG_UNIX_USERNAMES'])
    assert.match(env, /newuser\.project3/)
    await sameServerAnswers(60_000, 1000)
  })

  test('logs: the hub, the Slurm side and the newest job; unknown or absent environments are one line', async () => {
    const hub = await npmRun('logs', [ENV])
    assert.is(hub.code, 0)
    assert.match(hub.output, /JupyterHub is now running/)
    const slurm = await npmRun('logs', [ENV, 'slurm'])
    assert.is(slurm.code, 0)
    for (const log of ['slurmctld', 'slurmd', 'sshd'])
      assert.match(slurm.output, new RegExp(`==> /var/log/${log}\\.log <==`))
    assert.match(slurm.output, /Accepted publickey for jupyterspawner/)
    const job = await npmRun('logs', [ENV, 'job'])
    assert.is(job.code, 0)
    assert.match(job.output, new RegExp(`==> job ${jobId} \\(${ACCOUNT.replace('.', '\\.')}, state RUNNING`))
    assert.match(job.output, /jupyterhub_slurmspawner_\d+\.log <==/)
    const unknown = await npmRun('logs', ['no_such_env'])
    assert.is(unknown.code, 2)
    assert.is(unknown.output.trim().split('\n').length, 1)
    // --follow prints what the hub logs after it started, until Ctrl-C.
    const marker = `follow-check-${Date.now()}`
    let requested = false
    const followed = await npmRun('logs', [ENV, 'hub', '--follow'], {
      via: 'node',
      group: true,
      timeoutMs: 60_000,
      watch: (output) => {
        if (!requested && /JupyterHub is now running/.test(output)) {
          requested = true
          void fetch(`${HUB}jupyter/hub/${marker}`).catch(() => undefined)
        }
        return output.includes(marker) ? 'SIGINT' : undefined
      },
    })
    assert.ok(requested, 'the hub log so far was printed first')
    assert.is(followed.code, 130, 'Ctrl-C ends it with the exit code of an interrupt')
    const noLogin = await npmRun('logs', [ENV, 'login'])
    assert.is(noLogin.code, 1)
    assert.match(
      noLogin.output.trim(),
      new RegExp(`^error: environment ${ENV} has no development issuer and login front`),
    )
    assert.is(noLogin.output.trim().split('\n').length, 1)
    const realauth = testName('dev_realauth')
    const absent = await npmRun('logs', [realauth, 'hub'])
    assert.is(absent.code, 1)
    assert.equal(
      absent.output.trim(),
      `error: environment ${realauth} is not up; bring it up with \`jh-slurm-pod up ${realauth}\``,
    )
  })

  test('a spawn made to fail by a deploy setting: logs job shows why', async () => {
    const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status))
    await waitFor('the server to stop', 60_000, async () => ((await jobOf()) === '' ? true : undefined), 1000)
    edit(files.deployConfig, (t) =>
      t.replace(/^jupyterUserEnvDir: .*$/m, 'jupyterUserEnvDir: /opt/jupyter/no-such-env'),
    )
    const run = await phase('apply: deploy setting', () => apply())
    assert.is(run.code, 0)
    assert.match(run.output, /Replace the hub container \(deploy settings jupyterUserEnvDir\)/)
    await startServer()
    // What the spawn-pending page reads and shows: the spawn fails as soon as the job is gone
    // (not after the 420 s start timeout), and the message names the job's output file.
    const progress = await phase('failed spawn reported', () =>
      client.api(`jupyter/hub/api/users/${USER}/server/progress`),
    )
    const failed =
      /"failed": true, "message": "Spawn failed: Job (\d+) ended before its notebook server started\. Its output says why: \/home\/project1\/testuser\.project1\/jupyterhub_slurmspawner_\1\.log/.exec(
        progress.body,
      )
    assert.ok(failed, progress.body)
    assert.is.not(failed[1], jobId, 'a new job')
    const job = await npmRun('logs', [ENV, 'job', failed[1] as string])
    assert.match(job.output, /No such file or directory/)
    assert.match(job.output, /batchspawner-singleuser/)
    edit(files.deployConfig, () => saved.get(files.deployConfig) as string)
    assert.is((await apply()).code, 0)
  })

  test('a baseUrl changed through apply: the hub answers under it, and status says the new URL', async () => {
    const url = async () => {
      const status = await npmRun('status', ['--json'])
      const parsed = JSON.parse(status.output) as { environments: Array<{ environment: string; url: string }> }
      return parsed.environments.find((e) => e.environment === ENV)?.url
    }
    assert.is(await url(), `${HUB}jupyter/`)
    edit(files.deployConfig, (t) => `${t.replace(/^baseUrl: .*\n/m, '')}baseUrl: /moved/\n`)
    const run = await phase('apply: baseUrl', () => apply())
    assert.is(run.code, 0)
    assert.is((await fetch(`${HUB}moved/hub/health`)).status, 200)
    assert.is(await url(), `${HUB}moved/`)
    edit(files.deployConfig, () => saved.get(files.deployConfig) as string)
    assert.is((await apply()).code, 0)
    assert.is(await url(), `${HUB}jupyter/`)
  })

  test('watch mode applies a saved edit; Ctrl-C stops watching and leaves the environment up', async () => {
    let edited = false
    const run = await phase('apply --watch: one edit', () =>
      npmRun('apply', [ENV, '--watch'], {
        env: upEnv,
        via: 'node',
        timeoutMs: 180_000,
        watch: (output) => {
          if (!edited && output.includes(`watching ${ENV}`)) {
            edited = true
            edit(files.hubConfig, announce('Saved while watching'))
          }
          return /applied: hub configuration/.test(output) ? 'SIGINT' : undefined
        },
      }),
    )
    assert.is(run.code, 0)
    assert.ok(
      run.output.includes(`saved: ${path.relative(repoRoot, files.hubConfig)}`),
      `the saved file named as under the repository: ${run.output}`,
    )
    assert.match(run.output, new RegExp(`SIGINT: stopped watching; ${ENV} stays up`))
    assert.match((await client.request('jupyter/hub/home')).body, /Saved while watching/)
  })

  test('a Containerfile edit rebuilds that image and replaces only its container; homes are kept', async () => {
    const hubBefore = await podmanOut([
      'container',
      'inspect',
      '--format',
      '{{.Id}} {{.State.StartedAt}}',
      HUB_CONTAINER,
    ])
    const slurmBefore = await podmanOut(['container', 'inspect', '--format', '{{.Id}}', SLURM_CONTAINER])
    const stamp = String(Date.now())
    edit(files.slurmContainerfile, (t) =>
      t.replace(
        /^(COPY --chmod=0700 container-scripts\/10-create-dev-users\.sh .*)$/m,
        `$1\nLABEL jh-slurm-pod.e2e-apply="${stamp}"`,
      ),
    )
    const run = await phase('apply: Slurm image', () => apply())
    assert.is(run.code, 0)
    assert.ok(run.output.includes(`Rebuild ${imageRef('slurm', TEST_TAG)}`), run.output)
    assert.not.match(run.output, /Rebuild localhost\/brics_jupyterhub/)
    const image = await podmanOut(['container', 'inspect', '--format', '{{.ImageName}}', SLURM_CONTAINER])
    assert.is(
      await podmanOut(['image', 'inspect', '--format', '{{index .Labels "jh-slurm-pod.e2e-apply"}}', image]),
      stamp,
    )
    assert.is.not(await podmanOut(['container', 'inspect', '--format', '{{.Id}}', SLURM_CONTAINER]), slurmBefore)
    assert.is(
      await podmanOut(['container', 'inspect', '--format', '{{.Id}} {{.State.StartedAt}}', HUB_CONTAINER]),
      hubBefore,
    )
    await waitFor('the job log carried over', 30_000, async () =>
      (await inSlurm(['ls', `/home/project1/${ACCOUNT}/jupyterhub_slurmspawner_${jobId}.log`]).catch(() => ''))
        ? true
        : undefined,
    )
    assert.match(await inSlurm(['getent', 'passwd', 'newuser.project3']), /newuser/)
  })
})

test.run()
