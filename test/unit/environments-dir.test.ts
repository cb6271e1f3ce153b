// JH_SLURM_ENVIRONMENTS_DIR: environments in a folder of their own; and
// JH_SLURM_IMAGE_TAG, the variable of --tag.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { listEnvironments, resolveEnvironment } from '../../scripts/lib/environment.ts'
import { ENVIRONMENTS_DIR_VARIABLE, environmentsDir, repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { volumeSpecs } from '../../scripts/lib/volumes.ts'
import { makeRepo, tempDir } from '../helpers.ts'
import { runCli } from '../run-cli.ts'

const checkout = makeRepo({ dev_a: 'a.b\n' })
fs.writeFileSync(path.join(checkout, 'jh_slurm_pod.yaml'), 'kind: Pod\n')
fs.mkdirSync(path.join(checkout, 'volumes', '_shared'))
const mine = makeRepo({ mine_a: 'c.d\n', mine_b: 'e.f\n' })

/** Runs `fn` with the variables set, then puts the process environment back. */
async function withVariables<T>(vars: Record<string, string>, fn: () => T | Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try {
    return await fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

test('without the variable, or with it empty, the environments are the checkout’s', () => {
  for (const vars of [{}, { [ENVIRONMENTS_DIR_VARIABLE]: '' }]) {
    const repo = repoPaths(checkout, environmentsDir(checkout, vars))
    assert.is(repo.environments, checkout)
    assert.is(repo.config, path.join(checkout, 'config'))
    assert.is(repo.volumes, path.join(checkout, 'volumes'))
    assert.is(repo.sharedVolumes, path.join(checkout, 'volumes', '_shared'))
  }
})

test('the folder the variable names holds config/ and volumes/; the pod template and build folder stay the checkout’s', () => {
  const repo = repoPaths(checkout, environmentsDir(checkout, { [ENVIRONMENTS_DIR_VARIABLE]: mine }))
  assert.is(repo.config, path.join(mine, 'config'))
  assert.is(repo.volumes, path.join(mine, 'volumes'))
  assert.is(repo.podTemplate, path.join(checkout, 'jh_slurm_pod.yaml'))
  assert.is(repo.buildTmp, path.join(checkout, '_build_tmp'))
  assert.equal(listEnvironments(repo), ['mine_a', 'mine_b'])
  const env = resolveEnvironment('mine_a', repo)
  assert.is(env.configDir, path.join(mine, 'config', 'mine_a'))
  assert.is(env.volumesDir, path.join(mine, 'volumes', 'mine_a'))
  assert.is(env.podTemplate, path.join(checkout, 'jh_slurm_pod.yaml'), 'no pod.yaml of its own: the base pod')
  assert.throws(() => resolveEnvironment('dev_a', repo), /unknown environment "dev_a"; environments: mine_a, mine_b/)
})

test('volumes/_shared/ is the folder’s when it has one, else the checkout’s', () => {
  const vars = { [ENVIRONMENTS_DIR_VARIABLE]: mine }
  const repo = repoPaths(checkout, environmentsDir(checkout, vars))
  assert.is(repo.sharedVolumes, path.join(checkout, 'volumes', '_shared'))
  const env = resolveEnvironment('mine_a', repo)
  assert.is(env.sharedVolumesDir, repo.sharedVolumes)
  // The hub volume is filled from the checkout's shared files, then the environment's own.
  fs.mkdirSync(path.join(checkout, 'volumes', '_shared', 'jupyterhub_root'), { recursive: true })
  const owners = { jupyterhub: { uid: 0, gid: 0 }, slurm: { uid: 0, gid: 0 } } as never
  assert.is(volumeSpecs(env, owners)[0]?.sharedDir, path.join(checkout, 'volumes', '_shared', 'jupyterhub_root'))
  const own = path.join(mine, 'volumes', '_shared')
  fs.mkdirSync(own)
  try {
    assert.is(repoPaths(checkout, environmentsDir(checkout, vars)).sharedVolumes, own)
  } finally {
    fs.rmSync(own, { recursive: true })
  }
})

test('a relative folder is made absolute; a missing one is a usage error naming the variable', () => {
  const cwd = process.cwd()
  process.chdir(path.dirname(mine))
  try {
    assert.is(environmentsDir(checkout, { [ENVIRONMENTS_DIR_VARIABLE]: path.basename(mine) }), mine)
  } finally {
    process.chdir(cwd)
  }
  const missing = path.join(tempDir(), 'nowhere')
  assert.throws(
    () => environmentsDir(checkout, { [ENVIRONMENTS_DIR_VARIABLE]: missing }),
    (error: Error & { exitCode?: number }) =>
      error.message === `${ENVIRONMENTS_DIR_VARIABLE}=${missing}: no such folder` && error.exitCode === 2,
  )
})

test('the commands take their environments from the folder: --help lists them, manifest renders one', async () => {
  // A folder holding a copy of the checkout's dev_dummyauth under a name of its own.
  const dir = tempDir('jh-slurm-envs-')
  fs.cpSync(path.join(repoRoot, 'config', 'dev_dummyauth'), path.join(dir, 'config', 'own_dummy'), { recursive: true })
  fs.cpSync(path.join(repoRoot, 'volumes', 'dev_dummyauth'), path.join(dir, 'volumes', 'own_dummy'), {
    recursive: true,
  })
  fs.writeFileSync(path.join(dir, 'config', 'own_dummy', 'launcher.yaml'), 'hostPort: 9123\n')
  await withVariables({ [ENVIRONMENTS_DIR_VARIABLE]: dir, JH_SLURM_IMAGE_TAG: 'unit-tag' }, async () => {
    const help = await runCli(['up', '--help'])
    assert.is(help.code, 0)
    assert.match(help.stdout, /own_dummy/)
    assert.not.match(help.stdout, /dev_realauth/)
    assert.match(help.stdout, /JH_SLURM_ENVIRONMENTS_DIR/)
    assert.match(help.stdout, /variable JH_SLURM_IMAGE_TAG/)
    const manifest = await runCli(['manifest', 'own_dummy'])
    assert.is(manifest.code, 0, manifest.stderr)
    assert.match(manifest.stdout, /name: jupyterhub-slurm-own-dummy\n/)
    assert.match(manifest.stdout, /image: localhost\/brics_jupyterhub:unit-tag\n/)
    assert.match(manifest.stdout, /image: localhost\/brics_slurm:unit-tag\n/)
    assert.match(manifest.stdout, /hostPort: 9123\n/)
    // --tag wins over its variable.
    const tagged = await runCli(['manifest', 'own_dummy', '--tag', 'given'])
    assert.match(tagged.stdout, /image: localhost\/brics_jupyterhub:given\n/)
    const unknown = await runCli(['manifest', 'dev_dummyauth'])
    assert.is(unknown.code, 2)
    assert.match(unknown.stderr, /unknown environment "dev_dummyauth"; environments: own_dummy/)
  })
  await withVariables({ [ENVIRONMENTS_DIR_VARIABLE]: path.join(dir, 'nowhere') }, async () => {
    const run = await runCli(['status'])
    assert.is(run.code, 2)
    assert.match(run.stderr, /JH_SLURM_ENVIRONMENTS_DIR=.*nowhere: no such folder/)
  })
})

test.run()
