// Slurm's accounting as the launcher sees it: the project limits setting,
// the accounting container in the pods that run Slurm (and in no other),
// what apply does when the limits change, and the job records `logs` and
// `status --json` read.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decideActions } from '../../scripts/lib/apply-plan.ts'
import { parseDeployConfig } from '../../scripts/lib/deploy-config.ts'
import { describeRecord, parseSacct } from '../../scripts/lib/logs.ts'
import { compareSnapshots, type Snapshot } from '../../scripts/lib/snapshot.ts'
import { parseSqueue } from '../../scripts/lib/status.ts'
import type { TemplateUse } from '../../scripts/lib/template.ts'
import { renderEnvironmentManifest } from '../helpers.ts'

const limits = (yaml: string) => parseDeployConfig(yaml, 'f.yaml').get('slurmProjectLimits')

test('slurmProjectLimits: a mapping of projects to GPUs becomes one line, in name order; mistakes are one-line errors', () => {
  assert.is(limits('slurmProjectLimits: {project2: {gpus: 2}, a_1: {gpus: 0}}\n'), 'a_1:gpus=0 project2:gpus=2')
  assert.is(limits('slurmProjectLimits: {}\n'), '')
  assert.is(limits('slurmProjectLimits:\n'), '')
  assert.throws(() => limits('slurmProjectLimits: 2\n'), /f\.yaml: slurmProjectLimits must be a mapping of projects/)
  assert.throws(() => limits('slurmProjectLimits: {Project2: {gpus: 2}}\n'), /names 'Project2', which is not/)
  assert.throws(() => limits('slurmProjectLimits: {p: {cpus: 2}}\n'), /of p: unknown limit cpus \(known: gpus\)/)
  assert.throws(() => limits('slurmProjectLimits: {p: {gpus: -1}}\n'), /of p: gpus must be a whole number/)
  assert.throws(() => limits('slurmProjectLimits: {p: {gpus: "2"}}\n'), /of p: gpus must be a whole number/)
})

const containerNames = (pod: Record<string, any>) => pod.spec.containers.map((c: { name: string }) => c.name)

test('pods that run Slurm run the accounting container on the Slurm image, with the MUNGE key and its volume', async () => {
  for (const env of ['dev_dummyauth', 'dev_realauth']) {
    const { docs } = await renderEnvironmentManifest(env)
    const pod = docs.find((d) => d.kind === 'Pod') as Record<string, any>
    assert.ok(containerNames(pod).includes('accounting'), env)
    const accounting = pod.spec.containers.find((c: { name: string }) => c.name === 'accounting')
    const slurm = pod.spec.containers.find((c: { name: string }) => c.name === 'slurm')
    assert.is(accounting.image, slurm.image, env)
    assert.equal(accounting.command, ['/usr/local/sbin/start-slurm-accounting'])
    assert.equal(slurm.env, [{ name: 'SLURM_POD_ACCOUNTING', value: 'slurmdbd' }])
    const mounts = accounting.volumeMounts.map((m: { name: string; mountPath: string }) => `${m.name}:${m.mountPath}`)
    assert.ok(mounts.includes('munge-key:/etc/slurm-pod/munge.key'), mounts.join(' '))
    assert.ok(mounts.includes('accounting-root:/var/lib/mysql'), mounts.join(' '))
    const claim = pod.spec.volumes.find((v: { name: string }) => v.name === 'accounting-root')
    assert.match(claim.persistentVolumeClaim.claimName, /^slurm-accounting-root-/)
  }
})

test('hub-only pods have no accounting container and claim no accounting volume', async () => {
  for (const env of ['dev_dummyauth_extslurm', 'prod']) {
    const { docs, use } = await renderEnvironmentManifest(env)
    const pod = docs.find((d) => d.kind === 'Pod') as Record<string, any>
    assert.not.ok(containerNames(pod).includes('accounting'), env)
    assert.not.ok(use.volumes.includes('accounting'), env)
    assert.not.ok(
      Object.keys(pod.metadata.annotations ?? {}).some((a) => a.endsWith('/accounting')),
      env,
    )
  }
})

const use: TemplateUse = {
  volumes: ['jupyterhub', 'slurm', 'accounting'],
  secrets: ['clientKey', 'hostKey', 'devLogin', 'munge'],
  configMaps: ['devUsers', 'deployConfig'],
  images: ['jupyterhub', 'slurm'],
  publishesHubApi: false,
}
const base: Snapshot = {
  clones: {},
  packaging: {},
  hubFiles: {},
  devUsers: ['testuser.project1'],
  deployConfig: { slurmProjectLimits: 'project1:gpus=2', logLevel: 'DEBUG' },
  images: { jupyterhub: 'hi', slurm: 'si' },
}

test('apply replaces the Slurm container when the limits change (they are set when it starts), not for others', () => {
  const decide = (now: Snapshot) => decideActions(compareSnapshots(base, now), now, use, [])
  const newLimit = decide({ ...base, deployConfig: { ...base.deployConfig, slurmProjectLimits: 'project1:gpus=1' } })
  assert.is(newLimit.replace.slurm, true)
  const other = decide({ ...base, deployConfig: { ...base.deployConfig, logLevel: 'INFO' } })
  assert.is(other.replace.slurm, false)
})

test('job records from sacct and the queue from squeue; logs names user, account, state and exit code', () => {
  const records = parseSacct(
    '12|testuser.project1|project1|FAILED|3:0|/home/project1/testuser.project1\n12.batch||project1|FAILED|3:0|\n',
  )
  assert.equal(records, [
    {
      id: 12,
      user: 'testuser.project1',
      account: 'project1',
      state: 'FAILED',
      exitCode: '3:0',
      workDir: '/home/project1/testuser.project1',
    },
  ])
  const job = { id: 12, file: '/home/project1/testuser.project1/jupyterhub_slurmspawner_12.log' }
  assert.is(
    describeRecord(job, records[0] as (typeof records)[0]),
    `==> job 12 (testuser.project1, account project1, state FAILED, exit code 3:0): ${job.file} <==`,
  )
  assert.equal(parseSqueue('7|testuser.project2|project2|PENDING|QOSGrpGRES\n'), [
    { id: 7, user: 'testuser.project2', account: 'project2', state: 'PENDING', reason: 'QOSGrpGRES' },
  ])
})

test.run()
