// Slurm's compute nodes as the launcher makes them (lib/nodes.ts): the two
// settings and their defaults, the node pods of the manifest, what Slurm
// says of them, and down removing whatever node pods exist.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { refuseNodeCountChange } from '../../scripts/lib/apply-plan.ts'
import { parseDeployConfig } from '../../scripts/lib/deploy-config.ts'
import type { Changes, Snapshot } from '../../scripts/lib/snapshot.ts'
import { resolveEnvironment } from '../../scripts/lib/environment.ts'
import { resourceNames } from '../../scripts/lib/names.ts'
import {
  environmentSettings,
  formatNodes,
  hubConnectUrl,
  nodeReady,
  nodePodName,
  parseNodes,
} from '../../scripts/lib/nodes.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { teardown } from '../../scripts/lib/teardown.ts'
import { runCli } from '../run-cli.ts'
import { type FakePodman, renderEnvironmentManifest, repo, tempDir, useFakePodman } from '../helpers.ts'

const setting = (yaml: string, key: 'slurmNodes' | 'slurmGpusPerNode') => parseDeployConfig(yaml, 'f.yaml').get(key)

test('slurmNodes: a whole number from 0 to 8; slurmGpusPerNode from 0 to 64; others are one-line errors', () => {
  assert.is(setting('slurmNodes: 0\n', 'slurmNodes'), '0')
  assert.is(setting('slurmNodes: 8\n', 'slurmNodes'), '8')
  assert.is(setting('slurmGpusPerNode: 64\n', 'slurmGpusPerNode'), '64')
  for (const bad of ['9', '-1', '1.5', 'two', ''])
    assert.throws(
      () => setting(`slurmNodes: "${bad}"\n`, 'slurmNodes'),
      new RegExp(`^f\\.yaml: slurmNodes must be a whole number from 0 to 8, not '${bad}'$`),
      bad,
    )
  assert.throws(() => setting('slurmGpusPerNode: 65\n', 'slurmGpusPerNode'), /from 0 to 64, not '65'/)
  assert.throws(() => parseDeployConfig('slurmGpus: 4\n', 'f.yaml'), /unknown deploy setting slurmGpus/)
})

test('environments with Slurm in the pod get two nodes of 4 GPUs and the hub URL on the network; hub-only ones none', async () => {
  const dummy = resolveEnvironment('dev_dummyauth', repo)
  const settings = await environmentSettings(dummy)
  assert.is(settings.get('slurmNodes'), '2')
  assert.is(settings.get('slurmGpusPerNode'), '4')
  assert.is(settings.get('hubConnectUrl'), 'http://jupyterhub-slurm-dev-dummyauth:8081')
  const ext = await environmentSettings(resolveEnvironment('dev_dummyauth_extslurm', repo))
  assert.not.ok(ext.has('slurmNodes') || ext.has('slurmGpusPerNode'))
  assert.is(ext.get('hubConnectUrl'), 'http://workstation.example.org:8082')
  // Without nodes, jobs run in the hub's pod: the API on its loopback.
  assert.is(hubConnectUrl(dummy.names, 0), 'http://127.0.0.1:8081')
})

test('a site file may set slurmNodes: 0; then the hub URL is the loopback again', async () => {
  const dir = tempDir()
  const site = path.join(dir, 'site.yaml')
  fs.writeFileSync(site, 'slurmNodes: 0\nslurmGpusPerNode: 2\n')
  try {
    const settings = await environmentSettings(resolveEnvironment('dev_dummyauth', repo), { file: site })
    assert.is(settings.get('slurmNodes'), '0')
    assert.is(settings.get('slurmGpusPerNode'), '2')
    assert.is(settings.get('hubConnectUrl'), 'http://127.0.0.1:8081')
  } finally {
    fs.rmSync(dir, { recursive: true })
  }
})

type Pod = { kind: string; metadata: { name: string; labels: Record<string, string> }; spec: any }

test("the manifest has a pod per node: its own host name, slurmd from the Slurm image, the environment's homes and MUNGE key", async () => {
  const names = resourceNames('dev_dummyauth')
  const { docs } = await renderEnvironmentManifest('dev_dummyauth')
  const pods = docs.filter((d) => d.kind === 'Pod') as Pod[]
  assert.equal(
    pods.map((p) => p.metadata.name),
    [names.pod, nodePodName(names, 1), nodePodName(names, 2)],
  )
  const [hub, node1, node2] = pods as [Pod, Pod, Pod]
  assert.equal([node1.spec.hostname, node2.spec.hostname], ['node-1', 'node-2'])
  assert.is(node1.metadata.labels['jh-slurm-pod/environment'], 'dev_dummyauth')
  const [slurmd] = node1.spec.containers
  const slurm = hub.spec.containers.find((c: { name: string }) => c.name === 'slurm')
  assert.is(slurmd.name, 'slurmd')
  assert.is(slurmd.image, slurm.image)
  assert.equal(slurmd.command, ['/usr/local/sbin/start-slurm-node'])
  // slurmctld is the hub pod's, on the port above the pod's root-only line.
  assert.equal(slurmd.env, [
    { name: 'SLURM_POD_NODE', value: 'node-1' },
    { name: 'SLURM_POD_CONTROLLER', value: 'jupyterhub-slurm-dev-dummyauth:16384' },
  ])
  assert.equal(
    slurmd.envFrom.map((e: { configMapRef: { name: string } }) => e.configMapRef.name),
    ['dev-user-config-dev-dummyauth', 'deploy-config-dev-dummyauth'],
  )
  const claims = node1.spec.volumes.map((v: any) => v.persistentVolumeClaim?.claimName ?? v.secret?.secretName)
  assert.equal(claims, [names.volumes.homes, names.secrets.munge])
  const deploy = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === names.configMaps.deployConfig)
  assert.is(deploy.data.DEPLOY_CONFIG_SLURM_NODES, '2')
  assert.is(deploy.data.DEPLOY_CONFIG_SLURM_GPUS_PER_NODE, '4')
  assert.is(deploy.data.DEPLOY_CONFIG_HUB_CONNECT_URL, 'http://jupyterhub-slurm-dev-dummyauth:8081')
})

test('slurmNodes 0 renders no node pod; hub-only environments have none', async () => {
  const dir = tempDir()
  const site = path.join(dir, 'site.yaml')
  fs.writeFileSync(site, 'slurmNodes: 0\n')
  try {
    const { docs } = await renderEnvironmentManifest('dev_dummyauth', site)
    assert.is(docs.filter((d) => d.kind === 'Pod').length, 1)
  } finally {
    fs.rmSync(dir, { recursive: true })
  }
  for (const env of ['dev_dummyauth_extslurm', 'prod']) {
    const { docs } = await renderEnvironmentManifest(env)
    assert.is(docs.filter((d) => d.kind === 'Pod').length, 1, env)
  }
})

test('what Slurm says of each node: its state, its GPUs and those in use', () => {
  const nodes = parseNodes(
    [
      'NodeName=node-1 Arch=x86_64 CoresPerSocket=1 Gres=gpu:4 NodeAddr=node-1 State=MIXED ThreadsPerCore=1 CfgTRES=cpu=2,gres/gpu=4 AllocTRES=cpu=1,gres/gpu=4',
      'NodeName=node-2 Gres=gpu:4 State=IDLE CfgTRES=cpu=2,gres/gpu=4 AllocTRES=',
      'NodeName=node-3 Gres=(null) State=DOWN+NOT_RESPONDING AllocTRES=',
    ].join('\n'),
  )
  assert.equal(nodes, [
    { name: 'node-1', state: 'mixed', gpus: 4, gpusInUse: 4 },
    { name: 'node-2', state: 'idle', gpus: 4, gpusInUse: 0 },
    { name: 'node-3', state: 'down+not_responding', gpus: 0, gpusInUse: 0 },
  ])
  assert.equal(nodes.map(nodeReady), [true, true, false])
  assert.equal(
    formatNodes([{ name: 'node-1', pod: 'p-node-1', podState: 'Running', state: 'mixed', gpus: 4, gpusInUse: 4 }]),
    ['  node-1: mixed, 4 of 4 GPUs in use (pod p-node-1 Running)'],
  )
})

test('logs <env> node <i>: the node is a number from 1 to 8, else a one-line usage error', async () => {
  for (const [args, message] of [
    [['node'], /"node" takes the node's number, 1 to 8 \(logs <env> node 1\), got ""/],
    [['node', '9'], /got "9"/],
    [['node', 'x'], /got "x"/],
    [['slurm', '1'], /a job id \(a number\) follows only "job", got "1"/],
  ] as Array<[string[], RegExp]>) {
    const run = await runCli(['logs', 'dev_dummyauth', ...args])
    assert.is(run.code, 2, run.stderr)
    assert.match(run.stderr, message)
    assert.is(run.stderr.trim().split('\n').length, 1, run.stderr)
  }
})

test('apply refuses a change of slurmNodes (down and up make nodes), and passes other changes', () => {
  const env = resolveEnvironment('dev_dummyauth', repo)
  const snapshot = (slurmNodes: string) => ({ deployConfig: { slurmNodes } }) as unknown as Snapshot
  const changes = (keys: string[]) => ({ deployConfig: keys }) as unknown as Changes
  assert.throws(
    () => refuseNodeCountChange(env, changes(['slurmNodes']), snapshot('2'), snapshot('3')),
    /^the deploy setting slurmNodes changed \(2 to 3\): .*jh-slurm-pod down dev_dummyauth.*\(apply changed nothing\)$/,
  )
  refuseNodeCountChange(env, changes(['slurmGpusPerNode']), snapshot('2'), snapshot('2'))
  refuseNodeCountChange(env, undefined)
})

let fake: FakePodman | undefined
test.after.each(() => {
  fake?.restore()
  fake = undefined
})

test('down removes the node pods there are, also those a later slurmNodes would not name, and the network', async () => {
  const names = resourceNames('dev_dummyauth')
  const other = resourceNames('dev_realauth')
  fake = useFakePodman({
    pods: [names.pod, nodePodName(names, 1), nodePodName(names, 7), nodePodName(other, 1)],
    volumes: [names.volumes.homes],
    networks: ['jupyterhub-slurm-dev-dummyauth'],
  })
  const root = tempDir('jh-slurm-nodes-')
  try {
    const removed = await teardown(repoPaths(root), [names])
    assert.ok(removed.some((r) => r.kind === 'network'))
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
  const left = fake.resources()
  assert.equal(left.pods, [nodePodName(other, 1)])
  assert.equal(left.volumes, [])
  assert.equal(left.networks, [])
})

test.run()
