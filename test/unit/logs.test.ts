import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { describeJob, parseJobOutputs, pickJob, submittedJobs } from '../../scripts/lib/logs.ts'
import { whyHubFailed } from '../../scripts/lib/containers.ts'

const listing = [
  '/home/project1/testuser.project1/jupyterhub_slurmspawner_2.log',
  '/home/project1/testuser.project1/jupyterhub_slurmspawner_10.log',
  '/home/project2/testuser.project2/notes.txt',
  '/home/project2/testuser.project2/jupyterhub_slurmspawner_7.log',
].join('\n')

test('the newest job is the highest id, not the last listed', () => {
  const outputs = parseJobOutputs(listing)
  assert.equal(
    outputs.map((o) => o.id),
    [2, 10, 7],
  )
  assert.is(pickJob(outputs, undefined, 'here').id, 10)
  assert.is(pickJob(outputs, '7', 'here').file, '/home/project2/testuser.project2/jupyterhub_slurmspawner_7.log')
})

test('a job without an output file, or none at all, is a one-line error naming what there is', () => {
  assert.throws(
    () => pickJob(parseJobOutputs(listing), '3', 'the pod'),
    /no output file of job 3 in the pod \(jobs with one: 2, 7, 10\)/,
  )
  assert.throws(() => pickJob([], undefined, 'the pod'), /no job has written an output file in the pod yet/)
})

test('what Slurm still knows of a job heads its output', () => {
  const line = describeJob(
    { id: 7, file: '/home/p/u.p/jupyterhub_slurmspawner_7.log' },
    'JobId=7 JobName=spawner-jupyterhub UserId=u.p(1001) GroupId=u.p(1001) JobState=FAILED Reason=NonZeroExitCode ExitCode=1:0',
  )
  assert.is(
    line,
    '==> job 7 (u.p, state FAILED, reason NonZeroExitCode, exit code 1:0): /home/p/u.p/jupyterhub_slurmspawner_7.log <==',
  )
  assert.is(describeJob({ id: 7, file: 'f' }, ''), '==> job 7: f <==')
})

test('jobs on a cluster are found in the hub log: home directory, then job id', () => {
  const log = [
    "[I 12:00 JupyterHub batchspawner:281] Spawner script options: {'homedir': '/home/project1/testuser.project1', 'ngpus': '1'}",
    '[I 12:00 JupyterHub batchspawner:287] Job submitted. output: 41',
    "[I 12:05 JupyterHub batchspawner:281] Spawner script options: {'homedir': '/home/project2/testuser.project2'}",
    '[I 12:05 JupyterHub batchspawner:287] Job submitted. output: 42',
  ].join('\n')
  assert.equal(submittedJobs(log), [
    { id: 41, file: '/home/project1/testuser.project1/jupyterhub_slurmspawner_41.log' },
    { id: 42, file: '/home/project2/testuser.project2/jupyterhub_slurmspawner_42.log' },
  ])
})

test('the lines of a failed hub start that say why: the last error and its traceback, not the shutdown before', () => {
  const failure = [
    '[E 2026-11-27 17:01:56.956 JupyterHub app:3929]',
    '    Traceback (most recent call last):',
    '      File "/etc/jupyterhub/jupyterhub_config.py", line 26',
    "    SyntaxError: '(' was never closed",
  ]
  const log = [
    '[C 2026-11-27 17:01:53.486 JupyterHub app:3874] Received signal SIGTERM, initiating shutdown...',
    '[I 2026-11-27 17:01:53.487 JupyterHub app:3515] ...done',
    '[I 2026-11-27 17:01:55.000 JupyterHub app:3359] Running JupyterHub version 5.4.2',
    ...failure,
  ].join('\n')
  assert.equal(whyHubFailed(log), failure)
  assert.equal(whyHubFailed(`${log}\n${failure.join('\n')}`), failure, 'a hub failing again: its last failure')
})

test.run()
