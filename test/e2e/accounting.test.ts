// End to end, on real podman: Slurm's accounting in the pod (slurmdbd and its
// MariaDB in the accounting container).
// - Each dev user is associated with its project's account, its default.
// - A finished job's record names its user, its project's account, its
//   state and exit code, and the user reads it with sacct.
// - A job charged to another project's account is refused.
// - A project's GPU limit (deploy setting slurmProjectLimits) shows on the
//   spawn form; a spawn over it comes back with Slurm's reason in plain
//   words, one within it runs, under the project's account.
// - `logs <env> job <ID>` reads an ended job; `status --json` has the queue
//   and the last jobs.
// - Accounts, associations and records survive a restart of slurmdbd, of
//   its database, of the accounting container and an `apply` that replaces
//   the Slurm container; spawns work afterwards.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerName } from '../../scripts/lib/names.ts'
import { podman } from '../../scripts/lib/podman.ts'
import { formAction, HubClient, selectOptions } from './lib/browserless.ts'
import { devLogin, labAnswers, spawnForm } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, podmanOut, waitFor } from './lib/run.ts'
import { cleanAround, outputDir, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { testEnvironment } from './lib/test-environments.ts'

const dummy = testEnvironment('dev_dummyauth')
const USER = 'testuser'
const accounting = containerName(dummy.names, 'accounting')

/** Runs a shell command as a dev user in the Slurm container; its output and exit code. */
async function asUser(user: string, command: string): Promise<{ out: string; code: number }> {
  const r = await podman(['exec', containerName(dummy.names, 'slurm'), 'su', '-', user, '-c', command], {
    nothrow: true,
  })
  return { out: `${r.stdout}${r.stderr}`.trim(), code: r.exitCode }
}

/** The user's own jobs as sacct shows them to the user: id|user|account|state|exit code. */
const ownJobs = async (user: string) =>
  (await asUser(user, 'sacct --allocations --parsable2 --noheader --format JobID,User,Account,State,ExitCode')).out

/**
 * Waits until a job's record reads `expected` (id|user|account|state|exit
 * code): slurmctld sends a job's end to slurmdbd on its own time, and keeps
 * it while slurmdbd is away, so a record may lag the job by seconds. Fails
 * with the record as last read.
 */
async function expectRecord(user: string, job: string, expected: string): Promise<void> {
  let last: string | undefined
  const reads = async () => {
    last = (await ownJobs(user)).split('\n').find((l) => l.startsWith(`${job}|`))
    return last === expected ? true : undefined
  }
  await waitFor(`job ${job}'s record`, 60_000, reads, 1000).catch(() => assert.is(last, expected))
}

const submit = async (user: string, options: string): Promise<string> => {
  const r = await asUser(user, `cd && sbatch --parsable ${options}`)
  assert.is(r.code, 0, r.out)
  return r.out.trim()
}

/** The spawn form for a project of testuser's with `ngpus` GPUs. */
const formFor = (project: string, ngpus: string) => ({ ...spawnForm(ngpus), brics_project: project })

await whenProvisioned(() => {
  const upEnv = upEnvironment()
  const settingsFile = path.join(dummy.configDir, 'deploy-config.yaml')
  let savedSettings = ''
  let client: HubClient
  /** The job of the spawn within the limit. */
  let spawnedJob = ''

  cleanAround(() => [dummy.names])
  test.before(() => {
    savedSettings = fs.readFileSync(settingsFile, 'utf8')
  })
  test.after(() => {
    fs.writeFileSync(settingsFile, savedSettings)
  })

  test('up: the accounting container runs; every dev user is associated with its project, its default', async () => {
    const run = await phase('accounting: up', () => npmRun('up', [dummy.name], { env: upEnv }))
    assert.is(run.code, 0, run.output)
    assert.match(await podmanOut(['inspect', '--format', '{{.State.Status}}', accounting]), /running/)
    const assocs = await inSlurm(['sacctmgr', '--noheader', '--parsable2', 'show', 'user', 'withassoc'])
    const rows = assocs.split('\n').map((l) => l.split('|'))
    // User|Default account|Admin|Cluster|Account|...
    for (const [user, project] of [
      ['testuser.project1', 'project1'],
      ['testuser.project2', 'project2'],
      ['otheruser.project1', 'project1'],
    ])
      assert.ok(
        rows.some((r) => r[0] === user && r[1] === project && r[4] === project),
        `${user} in account ${project}, its default:\n${assocs}`,
      )
    assert.not.ok(
      rows.some((r) => r[0] === 'testuser.project1' && r[4] === 'project2'),
      assocs,
    )
  })

  test("a finished job's record: its user, its project's account, state and exit code; sacct shows it to the user", async () => {
    const failed = await submit('testuser.project1', `--wrap 'exit 3'`)
    const done = await submit('testuser.project1', `--wrap 'true'`)
    await expectRecord('testuser.project1', failed, `${failed}|testuser.project1|project1|FAILED|3:0`)
    await expectRecord('testuser.project1', done, `${done}|testuser.project1|project1|COMPLETED|0:0`)
    // The other project's user sees its own jobs: not these.
    assert.not.ok((await ownJobs('testuser.project2')).includes(`${failed}|`))
  })

  test("a job charged to another project's account is refused", async () => {
    const r = await asUser('testuser.project1', `cd && sbatch --account=project2 --wrap true`)
    assert.is.not(r.code, 0, r.out)
    assert.match(r.out, /Invalid account/)
    // Nor can it escape its project's limits through another QOS.
    const qos = await asUser('testuser.project2', `cd && sbatch --qos=normal --gpus=3 --wrap true`)
    assert.is.not(qos.code, 0, qos.out)
  })

  test("a project's GPU limit shows on the form; over it, Slurm's reason in plain words; within it, the spawn runs", async () => {
    client = new HubClient(dummy.url)
    const form = await devLogin(client, dummy.name)
    assert.match(form.url, /\/jupyter\/hub\/spawn$/)
    assert.match(form.body, /project2\.brics: at most 2 GPUs/)
    assert.not.match(form.body, /project1\.brics: at most/)
    const refused = await client.request(formAction(form.body), { form: formFor('project2.brics', '3') })
    fs.writeFileSync(path.join(outputDir, 'accounting-refused-spawn.html'), refused.body)
    assert.match(
      refused.body,
      /class="spawn-error-msg[^"]*">Error: Your project project2\.brics may use at most 2 GPUs at a time, and this job asked for 3\. Ask for fewer GPUs and start again\. \(Slurm said: sbatch: error: QOSGrpGRES /,
    )
    assert.equal(selectOptions(refused.body, 'ngpus'), ['1', '2', '3', '4'])
    assert.is(await inSlurm(['squeue', '--noheader']), '', 'a refused job is in the queue')
    await phase('accounting: spawn within the limit', () =>
      client.request(formAction(refused.body), { form: formFor('project2.brics', '2') }),
    )
    await waitFor("testuser's server", 300_000, () => labAnswers(client, USER), 1000)
    const queue = await inSlurm(['squeue', '--noheader', '--format', '%i|%u|%a|%T|%b'])
    const [id, user, account, state] = queue.split('|')
    assert.is(`${user}|${account}|${state}`, 'testuser.project2|project2|RUNNING', queue)
    spawnedJob = id as string
  })

  test('status --json has the queue and the last jobs; logs job reads a job that has ended', async () => {
    const status = await npmRun('status', ['--json'], { env: upEnv })
    assert.is(status.code, 0, status.output)
    const mine = (JSON.parse(status.output).environments as Array<Record<string, any>>).find(
      (e) => e.environment === dummy.name,
    )
    assert.ok(mine?.slurm, status.output)
    assert.equal(
      mine?.slurm.queue.map((j: Record<string, unknown>) => [j.id, j.account, j.state]),
      [[Number(spawnedJob), 'project2', 'RUNNING']],
    )
    const last = mine?.slurm.lastJobs.map((j: Record<string, unknown>) => `${j.account}|${j.state}|${j.exitCode}`)
    assert.ok(last.includes('project1|FAILED|3:0'), last.join('\n'))

    const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}`)
    await waitFor('the job to end', 60_000, async () => ((await inSlurm(['squeue', '--noheader'])) ? undefined : true))
    // The output file is found through the job's record (logs.ts), as for a job slurmctld has forgotten.
    const logs = await npmRun('logs', [dummy.name, 'job', spawnedJob], { env: upEnv })
    assert.is(logs.code, 0, logs.output)
    assert.match(
      logs.output,
      new RegExp(
        `==> job ${spawnedJob} \\(testuser\\.project2, account project2, state CANCELLED[^,]*, exit code [0-9:]+\\): /home/project2/testuser\\.project2/jupyterhub_slurmspawner_${spawnedJob}\\.log <==`,
      ),
    )
  })

  test('accounts and records survive restarts of slurmdbd, its database and its container', async () => {
    const before = await ownJobs('testuser.project1')
    const slurmdbdPid = await podmanOut(['exec', accounting, 'pidof', 'slurmdbd'])
    await podmanOut(['exec', accounting, 'bash', '-c', `kill ${slurmdbdPid}`])
    await waitFor(
      'slurmdbd to come back',
      30_000,
      async () => {
        const pid = await podmanOut(['exec', accounting, 'pidof', 'slurmdbd']).catch(() => '')
        return pid && pid !== slurmdbdPid ? pid : undefined
      },
      500,
    )
    const mariadbPid = await podmanOut(['exec', accounting, 'pidof', 'mariadbd'])
    await podmanOut(['exec', accounting, 'bash', '-c', `kill -9 ${mariadbPid}`])
    await waitFor(
      'MariaDB to come back',
      30_000,
      async () => {
        const pid = await podmanOut(['exec', accounting, 'pidof', 'mariadbd']).catch(() => '')
        return pid && pid !== mariadbPid ? pid : undefined
      },
      500,
    )
    const afterDaemons = await submit('testuser.project1', `--wrap 'exit 4'`)
    await expectRecord('testuser.project1', afterDaemons, `${afterDaemons}|testuser.project1|project1|FAILED|4:0`)

    await podmanOut(['restart', '--time', '10', accounting])
    const afterContainer = await waitFor(
      'a job submitted after the restart',
      60_000,
      async () => {
        const r = await asUser('testuser.project1', `cd && sbatch --parsable --wrap 'exit 5'`)
        return r.code === 0 ? r.out.trim() : undefined
      },
      1000,
    )
    await expectRecord('testuser.project1', afterContainer, `${afterContainer}|testuser.project1|project1|FAILED|5:0`)
    const after = await ownJobs('testuser.project1')
    for (const line of before.split('\n').filter((l) => !/RUNNING|PENDING/.test(l)))
      assert.ok(after.includes(line), `kept: ${line}`)
    const refused = await asUser('testuser.project1', `cd && sbatch --account=project2 --wrap true`)
    assert.match(refused.out, /Invalid account/)
  })

  test('an apply that replaces the Slurm container for a new limit keeps the records; the new limit holds, a spawn within it runs', async () => {
    const slurm = containerName(dummy.names, 'slurm')
    const idOf = () => podmanOut(['inspect', '--format', '{{.Id}}', slurm])
    const [before, slurmBefore] = [await ownJobs('testuser.project1'), await idOf()]
    // What a user does to try a limit: add it to the settings and apply.
    const limited = savedSettings.replace(/^slurmProjectLimits:\n/m, 'slurmProjectLimits:\n  project1: {gpus: 1}\n')
    assert.is.not(limited, savedSettings, 'the settings file has slurmProjectLimits')
    fs.writeFileSync(settingsFile, limited)
    const run = await phase('accounting: apply a new limit', () => npmRun('apply', [dummy.name], { env: upEnv }))
    assert.is(run.code, 0, run.output)
    assert.is.not(await idOf(), slurmBefore, 'the Slurm container was replaced')
    const after = await ownJobs('testuser.project1')
    for (const line of before.split('\n').filter((l) => l && !/RUNNING|PENDING/.test(l)))
      assert.ok(after.includes(line), `kept: ${line}`)

    const form = await client.request('jupyter/hub/spawn')
    assert.match(form.body, /project1\.brics: at most 1 GPU;/)
    const refused = await client.request(formAction(form.body), { form: formFor('project1.brics', '2') })
    assert.match(
      refused.body,
      /Error: Your project project1\.brics may use at most 1 GPU at a time, and this job asked for 2\./,
    )
    await phase('accounting: spawn within the new limit', () =>
      client.request(formAction(refused.body), { form: formFor('project1.brics', '1') }),
    )
    await waitFor("testuser's server after the apply", 300_000, () => labAnswers(client, USER), 1000)
    const queue = await inSlurm(['squeue', '--noheader', '--format', '%u|%a|%T'])
    assert.is(queue, 'testuser.project1|project1|RUNNING')
    const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}`)
  })
})

test.run()
