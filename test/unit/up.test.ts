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
  const titles = upTasks(await planUp(options, repo), repo).map((t) => t.title)
  assert.equal(titles, [
    'Check environment and prerequisites',
    'Make build directory',
    'Clone development repositories',
    'Build images (stage-dev); meanwhile create volumes, generate SSH keys, render manifest',
    'Start pod (podman kube play)',
    'Wait for JupyterHub',
  ])
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
