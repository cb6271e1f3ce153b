import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { $ } from 'zx'
import { cloneRepo, describeClone, describeWarning, devReposFor } from '../../scripts/lib/clones.ts'
import type { DevRepo } from '../../scripts/lib/sources.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { tempDir } from '../helpers.ts'

const dir = tempDir()
const source = path.join(dir, 'source')
const commits: Record<string, string> = {}

/** A repository with a tagged release v1.0 and a newer commit on its default branch. */
test.before(async () => {
  fs.mkdirSync(source)
  const sh = $({ cwd: source, quiet: true })
  const commit = async (text: string) => {
    fs.writeFileSync(path.join(source, 'VERSION'), text)
    await sh`git add . && git -c user.name=t -c user.email=t@t commit -qm ${text}`
    return (await sh`git rev-parse HEAD`).stdout.trim()
  }
  await sh`git init -q -b main`
  commits.v1 = await commit('1.0\n')
  await sh`git tag v1.0`
  commits.main = await commit('1.1-dev\n')
})

const repo = (dest: string, ref: string, url = source): DevRepo => ({
  name: 'pkg',
  image: 'jupyterhub',
  url,
  ref,
  dest: path.join(dir, dest),
  overrideVars: { url: 'PKG_URL', ref: 'PKG_REF' },
})

test('a missing clone is made at the pinned ref, and says which ref and commit', async () => {
  const result = await cloneRepo(repo('pinned', 'v1.0'))
  assert.is(result.skipped, false)
  assert.is(result.commit, commits.v1)
  assert.is(fs.readFileSync(path.join(dir, 'pinned', 'VERSION'), 'utf8'), '1.0\n')
  assert.is(describeClone(result), `pkg: cloned ${source} at v1.0 (commit ${commits.v1?.slice(0, 12)})`)
  // The .git directory stays: setuptools-scm reads the version from it.
  assert.ok(fs.existsSync(path.join(dir, 'pinned', '.git')))
})

test('HEAD clones the default branch', async () => {
  const result = await cloneRepo(repo('default', 'HEAD'))
  assert.is(result.commit, commits.main)
  assert.match(describeClone(result), /at the default branch/)
})

test('an existing clone at the pin is skipped, untouched, and names its commit', async () => {
  const dest = path.join(dir, 'pinned')
  fs.writeFileSync(path.join(dest, 'local-change.txt'), 'mine\n')
  const result = await cloneRepo(repo('pinned', 'v1.0', '/does/not/exist'))
  assert.is(result.skipped, true)
  assert.is(fs.readFileSync(path.join(dest, 'local-change.txt'), 'utf8'), 'mine\n')
  assert.match(describeClone(result), new RegExp(`exists, clone skipped \\(commit ${commits.v1?.slice(0, 12)}\\)`))
  assert.is(describeWarning(result), undefined)
})

test('an existing clone at another commit gets a warning naming both commits', async () => {
  const result = await cloneRepo(repo('default', 'v1.0'))
  assert.is(result.skipped, true)
  assert.is(
    describeWarning(result),
    `warning: pkg: it holds ${commits.main?.slice(0, 12)}, not the pin v1.0 (${commits.v1?.slice(0, 12)}); the image gets what the directory holds`,
  )
})

test('an existing directory that is no git clone is kept, with a warning', async () => {
  const dest = path.join(dir, 'plain')
  fs.mkdirSync(dest)
  const result = await cloneRepo(repo('plain', 'v1.0'))
  assert.is(result.skipped, true)
  assert.equal(fs.readdirSync(dest), [])
  assert.match(describeWarning(result) ?? '', /is not a git clone/)
})

test('a ref the repository lacks is a one-line error and leaves nothing behind', async () => {
  try {
    await cloneRepo(repo('badref/pkg', 'v9.9'))
    assert.unreachable('clone at a missing ref succeeded')
  } catch (error) {
    assert.is((error as Error).message, `pkg: ${source} has no ref v9.9 (set PKG_REF to another one)`)
  }
  assert.equal(fs.readdirSync(path.join(dir, 'badref')), [])
})

test('a failed clone leaves no directory behind', async () => {
  try {
    await cloneRepo(repo('failed/pkg', 'v1.0', path.join(dir, 'no-such-repo')))
    assert.unreachable('clone of a missing repository succeeded')
  } catch (error) {
    assert.match((error as Error).message, /git clone/)
  }
  assert.equal(fs.readdirSync(path.join(dir, 'failed')), [])
})

test('URL and ref come from the build args, and the environment overrides them', () => {
  const [hub, slurm] = devReposFor(repoPaths(repoRoot), {
    JH_SLURM_BRICSAUTHENTICATOR_URL: '/srv/git/ba.bundle',
    JH_SLURM_SLURMSPAWNER_WRAPPERS_REF: 'HEAD',
  })
  assert.is(hub?.url, '/srv/git/ba.bundle')
  assert.is(hub?.ref, 'v0.7.0')
  assert.is(hub?.dest, path.join(repoRoot, 'brics_jupyterhub', '_dev_build_data', 'bricsauthenticator'))
  assert.is(slurm?.url, 'https://github.com/isambard-sc/slurmspawner_wrappers.git')
  assert.is(slurm?.ref, 'HEAD')
})

test('an args file named in the environment moves the pin of the clone too', () => {
  const overlay = path.join(dir, 'pin.args')
  fs.writeFileSync(overlay, 'BRICSAUTHENTICATOR_REF=v0.8.0\n')
  const [hub] = devReposFor(repoPaths(repoRoot), { JH_SLURM_HUB_ARGS_FILE: overlay })
  assert.is(hub?.ref, 'v0.8.0')
})

test('without any repository an existing clone still does; a missing one is an error naming the settings', async () => {
  const overlay = path.join(dir, 'norepo.args')
  fs.writeFileSync(overlay, 'BRICSAUTHENTICATOR_REPO=\n')
  const [hub] = devReposFor(repoPaths(repoRoot), { JH_SLURM_HUB_ARGS_FILE: overlay })
  assert.is(hub?.url, '')
  assert.is((await cloneRepo({ ...repo('pinned', 'v1.0'), url: '' })).skipped, true)
  try {
    await cloneRepo({ ...repo('absent', 'v1.0'), url: '' })
    assert.unreachable('a clone without a repository succeeded')
  } catch (error) {
    assert.is(
      (error as Error).message,
      "no repository for pkg: set PKG_URL, or the repository in the image's build.args",
    )
  }
})

test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
test.run()
