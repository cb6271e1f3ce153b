import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existingResources, teardown } from '../../scripts/down.ts'
import { type FakePodman, useFakePodman } from '../helpers.ts'

let fake: FakePodman

test.after.each(() => fake.restore())

test('down removes what exists, in order, and skips what is gone', async () => {
  fake = useFakePodman({
    pods: ['jupyterhub-slurm'],
    volumes: ['slurm_root', 'jupyterhub-slurm-ssh-host-key'],
    secrets: ['jupyterhub-slurm-ssh-client-key'],
  })
  const lines: string[] = []
  const removed = await teardown((l) => lines.push(l))
  assert.equal(lines, [
    'removed pod jupyterhub-slurm',
    'removed volume slurm_root',
    'removed secret jupyterhub-slurm-ssh-client-key',
    'removed volume jupyterhub-slurm-ssh-host-key',
  ])
  assert.is(removed.length, 4)
  const removals = fake.calls().filter((c) => c.includes('rm'))
  assert.equal(removals, [
    ['pod', 'rm', '--force', '--time', '10', 'jupyterhub-slurm'],
    ['volume', 'rm', '--force', 'slurm_root'],
    ['secret', 'rm', 'jupyterhub-slurm-ssh-client-key'],
    ['volume', 'rm', '--force', 'jupyterhub-slurm-ssh-host-key'],
  ])
  assert.equal(fake.resources().pods, [])
})

test('down with nothing up removes nothing and is idempotent', async () => {
  fake = useFakePodman({})
  assert.equal(await teardown(), [])
  assert.equal(await teardown(), [])
  assert.not.ok(fake.calls().some((c) => c.includes('rm')))
})

test('existingResources lists what an up would collide with', async () => {
  fake = useFakePodman({ volumes: ['jupyterhub_root'], secrets: ['jupyterhub-dev-login'] })
  assert.equal(await existingResources(), [
    { kind: 'volume', name: 'jupyterhub_root' },
    { kind: 'secret', name: 'jupyterhub-dev-login' },
  ])
})

test('a failing removal is reported with podman\'s message', async () => {
  fake = useFakePodman({ pods: ['jupyterhub-slurm'] })
  process.env.FAKE_PODMAN_FAIL = '^pod rm'
  try {
    await teardown()
    assert.unreachable('teardown ignored a failure')
  } catch (error) {
    assert.match((error as Error).message, /pod rm .* failed \(exit 125\): Error: forced failure/)
  }
})

test.run()
