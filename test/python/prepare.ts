// Before pytest: what the hub configuration's tests need of the real world.
// - The real bricsauthenticator at the hub image's pin, installed into the
//   tools' venv (.venv-tools/): cloned by the product's own clone step from
//   the URL the product would use (the upstream git bundles where GitHub is
//   out of reach, as for the end-to-end tests), into test-output/python/,
//   never into the checkout's _dev_build_data/.
// - The pod facts the launcher would pass into the pod (scripts/lib/pod-facts.ts),
//   as test-output/python/pod-facts.json, which conftest.py puts in the environment.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { cloneRepo, devReposFor } from '../../scripts/lib/clones.ts'
import { podFactsData } from '../../scripts/lib/pod-facts.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { upstreamRepositories } from '../e2e/lib/upstream.ts'

const out = path.join(repoRoot, 'test-output', 'python')
fs.mkdirSync(out, { recursive: true })
fs.writeFileSync(path.join(out, 'pod-facts.json'), `${JSON.stringify(podFactsData(), null, 2)}\n`)

const upstream = upstreamRepositories()
const vars = { ...process.env, ...('env' in upstream ? upstream.env : {}) }
const spec = devReposFor(repoPaths(), vars).find((r) => r.name === 'bricsauthenticator')
if (!spec) throw new Error('no bricsauthenticator among the development repositories')
const clone = { ...spec, dest: path.join(out, 'bricsauthenticator') }
let result = await cloneRepo(clone, () => undefined)
if (result.warning) {
  // A clone of an earlier pin: this one is the tests' own, so it is made again.
  fs.rmSync(clone.dest, { recursive: true, force: true })
  result = await cloneRepo(clone, () => undefined)
}
const commit = result.commit ?? 'unknown'
const stamp = path.join(out, 'installed-commit')
if (!fs.existsSync(stamp) || fs.readFileSync(stamp, 'utf8') !== commit) {
  const pip = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, 'bin', 'python-tools.mjs'),
      'python',
      '-m',
      'pip',
      'install',
      '--quiet',
      '--no-deps',
      clone.dest,
    ],
    { stdio: 'inherit' },
  )
  if (pip.status !== 0) process.exit(pip.status ?? 1)
  fs.writeFileSync(stamp, commit)
}
console.log(`python tests: bricsauthenticator ${clone.ref} (commit ${commit.slice(0, 12)}) from ${clone.url}`)
