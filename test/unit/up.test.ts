import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buildSettings } from '../../scripts/lib/images.ts'
import { planUp } from '../../scripts/lib/up-plan.ts'
import { stepTimings } from '../../scripts/tasks/context.ts'
import { upTasks } from '../../scripts/up.ts'
import { noBuildOptions, repo } from '../helpers.ts'

const settings = buildSettings(noBuildOptions())

test('up mirrors the launcher: checks, build dir, clone, build (with volumes, keys and manifest meanwhile), play', async () => {
  const options = {
    envName: 'dev_dummyauth',
    build: settings,
    keepBuildData: false,
    waitSeconds: 300,
    clusterFiles: {},
  }
  const plan = await planUp(options, repo)
  // What the tasks work from: both images at stage-dev from both clones, the pod's volumes, its port.
  assert.equal(
    plan.builds.map((b) => [b.image, b.ref, b.target]),
    [
      ['jupyterhub', 'localhost/brics_jupyterhub:dev-latest', 'stage-dev'],
      ['slurm', 'localhost/brics_slurm:dev-latest', 'stage-dev'],
    ],
  )
  assert.equal(
    plan.repos.map((r) => r.name),
    ['bricsauthenticator', 'slurmspawner_wrappers'],
  )
  const volumes = plan.volumes.map((v) => v.name)
  for (const name of ['jupyterhub-root-dev-dummyauth', 'slurm-root-dev-dummyauth'])
    assert.ok(volumes.includes(name), name)
  assert.is(plan.ports.proxy, 8000)
  const tasks = upTasks(plan, repo)
  const titles = tasks.map((t) => t.title)
  assert.equal(titles, [
    'Check environment and prerequisites',
    'Make build directory',
    'Clone development repositories',
    'Build images (stage-dev); meanwhile create volumes, generate SSH keys, render manifest',
    'Start pod (podman kube play)',
    'Wait for JupyterHub',
  ])
  // --wait 0: the wait is skipped, and says why.
  const skipOf = (task: (typeof tasks)[number] | undefined) => task?.skip as () => string | false
  const noWait = upTasks(await planUp({ ...options, waitSeconds: 0 }, repo), repo).at(-1)
  assert.is(skipOf(noWait)(), 'not waiting (--wait 0)')
  assert.is(skipOf(tasks.at(-1))(), false)
})

test('step timings run from one start to the next', () => {
  assert.equal(
    stepTimings(
      [
        ['a', 1000],
        ['b', 1500],
        ['c', 4000],
      ],
      4500,
    ),
    [
      ['a', 500],
      ['b', 2500],
      ['c', 500],
    ],
  )
})

test.run()
