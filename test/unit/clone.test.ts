import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { $ } from 'zx'
import { cloneRepo, describeClone } from '../../scripts/clone.ts'
import { devRepos } from '../../scripts/lib/sources.ts'
import { tempDir } from '../helpers.ts'

const dir = tempDir()
const source = path.join(dir, 'source')

test.before(async () => {
  fs.mkdirSync(source)
  fs.writeFileSync(path.join(source, 'README.md'), 'hello\n')
  await $({ cwd: source, quiet: true })`git init -q && git add . && git -c user.name=t -c user.email=t@t commit -qm init`
})

test('a missing clone is made from the configured URL', async () => {
  const repo = { name: 'pkg', url: source, dest: path.join(dir, 'ctx', '_dev_build_data', 'pkg'), env: 'X' }
  const result = await cloneRepo(repo)
  assert.is(result.skipped, false)
  assert.is(fs.readFileSync(path.join(repo.dest, 'README.md'), 'utf8'), 'hello\n')
  assert.match(describeClone(result), /pkg: cloned/)
})

test('an existing directory is skipped and left as it is', async () => {
  const dest = path.join(dir, 'existing')
  fs.mkdirSync(dest)
  fs.writeFileSync(path.join(dest, 'local-change.txt'), 'mine\n')
  const result = await cloneRepo({ name: 'pkg', url: '/does/not/exist', dest, env: 'X' })
  assert.is(result.skipped, true)
  assert.equal(fs.readdirSync(dest), ['local-change.txt'])
  assert.match(describeClone(result), /exists, clone skipped/)
})

test('a failed clone leaves no directory behind', async () => {
  const dest = path.join(dir, 'failed', 'pkg')
  try {
    await cloneRepo({ name: 'pkg', url: path.join(dir, 'no-such-repo'), dest, env: 'X' })
    assert.unreachable('clone of a missing repository succeeded')
  } catch (error) {
    assert.match((error as Error).message, /git clone/)
  }
  assert.equal(fs.readdirSync(path.dirname(dest)), [])
})

test('repository URLs can be changed through the environment', () => {
  const [hub, slurm] = devRepos({ JH_SLURM_BRICSAUTHENTICATOR_URL: '/srv/git/ba', JH_SLURM_SLURMSPAWNER_WRAPPERS_URL: '' }, '/repo')
  assert.equal(hub, { name: 'bricsauthenticator', env: 'JH_SLURM_BRICSAUTHENTICATOR_URL', url: '/srv/git/ba', dest: '/repo/brics_jupyterhub/_dev_build_data/bricsauthenticator' })
  assert.is(slurm?.url, 'https://github.com/isambard-sc/slurmspawner_wrappers.git')
  assert.is(slurm?.dest, '/repo/brics_slurm/_dev_build_data/slurmspawner_wrappers')
})

test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
test.run()
