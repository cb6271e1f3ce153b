// The users' homes live in a volume of the environment (slurm-homes-<env>),
// mounted at /home in the Slurm container: a replaced Slurm container keeps
// them with their owners and modes (a copy through `podman cp` gave them all
// to root, and jobs could not open their output files), and down removes it.
import fs from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createArgs } from '../../scripts/lib/containers.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { resourceNames } from '../../scripts/lib/names.ts'
import { teardown } from '../../scripts/lib/teardown.ts'
import { type FakePodman, renderEnvironmentManifest, tempDir, useFakePodman } from '../helpers.ts'

type Pod = { spec: { containers: any[]; volumes: any[] } }
const podOf = async (env: string) => (await renderEnvironmentManifest(env)).docs.find((d) => d.kind === 'Pod') as Pod

test('pods that run Slurm mount the environment homes volume at /home of the Slurm container', async () => {
  for (const env of ['dev_dummyauth', 'dev_realauth', 'dev']) {
    const pod = await podOf(env)
    const slurm = pod.spec.containers.find((c) => c.name === 'slurm')
    const home = slurm.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/home')
    assert.equal(home, { name: 'slurm-homes', mountPath: '/home' }, env)
    const claim = pod.spec.volumes.find((v) => v.name === 'slurm-homes')
    assert.is(claim.persistentVolumeClaim.claimName, resourceNames(env).volumes.homes)
  }
  assert.is(resourceNames('dev_dummyauth').volumes.homes, 'slurm-homes-dev-dummyauth')
})

test('hub-only pods claim no homes volume', async () => {
  for (const env of ['dev_dummyauth_extslurm', 'prod']) {
    const { use } = await renderEnvironmentManifest(env)
    assert.not.ok(use.volumes.includes('homes'), env)
  }
})

test('a replaced Slurm container mounts the same homes volume, and nothing is copied into it', () => {
  const mount = { Type: 'volume', Name: 'slurm-homes-dev-dummyauth', Source: '/x', Destination: '/home', RW: true }
  const old = { Image: 'sha', ImageName: 'slurm', Pod: 'p', Mounts: [mount], State: { Status: 'running' } }
  const args = createArgs('slurm-next', old, { env: {} })
  assert.ok(args.includes('type=volume,source=slurm-homes-dev-dummyauth,destination=/home'), args.join(' '))
  assert.not.ok(args.includes('cp'))
})

let fake: FakePodman | undefined
test.after.each(() => {
  fake?.restore()
  fake = undefined
})

test('down removes the homes volume with the others', async () => {
  const names = resourceNames('dev_dummyauth')
  fake = useFakePodman({ pods: [names.pod], volumes: [names.volumes.slurm, names.volumes.homes] })
  const root = tempDir('jh-slurm-homes-')
  try {
    await teardown(repoPaths(root), [names])
  } finally {
    fs.rmSync(root, { recursive: true, force: true })
  }
  assert.equal(fake.resources().volumes, [])
})

test.run()
