// `up` run in-process against the fake podman, in a scratch copy of the
// repository layout: rollback, refusal and the happy path.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buildSettings } from '../../scripts/build-images.ts'
import { up } from '../../scripts/up.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { type FakePodman, noBuildOptions, tempDir, useFakePodman } from '../helpers.ts'

let fake: FakePodman
let root: string

function scratchRepo(): string {
  const dir = tempDir('jh-slurm-up-')
  for (const item of ['config/dev_dummyauth', 'volumes/dev_dummyauth', 'jh_slurm_pod.yaml', 'brics_jupyterhub/build.args', 'brics_slurm/build.args']) {
    fs.cpSync(path.join(repoRoot, item), path.join(dir, item), { recursive: true })
  }
  // Existing clones: the clone step skips them.
  fs.mkdirSync(path.join(dir, 'brics_jupyterhub/_dev_build_data/bricsauthenticator'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'brics_slurm/_dev_build_data/slurmspawner_wrappers'), { recursive: true })
  return dir
}

async function run(): Promise<{ code: number; output: string }> {
  let output = ''
  const out = process.stdout.write.bind(process.stdout)
  const err = process.stderr.write.bind(process.stderr)
  const capture = (chunk: string | Uint8Array) => {
    output += chunk.toString()
    return true
  }
  process.stdout.write = capture as typeof process.stdout.write
  process.stderr.write = capture as typeof process.stderr.write
  try {
    const code = await up({
      envName: 'dev_dummyauth',
      build: buildSettings(noBuildOptions()),
      keepBuildData: false,
      waitSeconds: 0,
      root,
    })
    return { code, output }
  } finally {
    process.stdout.write = out
    process.stderr.write = err
  }
}

const buildDirs = () => (fs.existsSync(path.join(root, '_build_tmp')) ? fs.readdirSync(path.join(root, '_build_tmp')).filter((n) => n.startsWith('jh_slurm_pod_')) : [])

test.before.each(() => {
  root = scratchRepo()
})
test.after.each(() => {
  fake.restore()
  fs.rmSync(root, { recursive: true, force: true })
})

test('a failure after resources were made rolls all of them back', async () => {
  fake = useFakePodman({})
  process.env.FAKE_PODMAN_FAIL = '^kube play'
  const { code, output } = await run()
  assert.is(code, 1)
  assert.match(output, /rolling back what this run created/)
  assert.match(output, /removed volume jupyterhub_root/)
  assert.match(output, /removed volume slurm_root/)
  assert.equal(fake.resources().volumes, [])
  assert.equal(buildDirs(), [])
  assert.not.ok(fs.existsSync(path.join(root, '_build_tmp', '.lock')))
})

test('an environment already up is refused before anything is made', async () => {
  fake = useFakePodman({ pods: ['jupyterhub-slurm'] })
  const { code, output } = await run()
  assert.is(code, 1)
  assert.match(output, /error: an environment is already up \(pod jupyterhub-slurm\); run `npm run down` first/)
  assert.not.ok(fake.calls().some((c) => c[0] === 'build' || c[1] === 'create'))
  assert.equal(buildDirs(), [])
  assert.equal(fake.resources().pods, ['jupyterhub-slurm'])
})

test('a full run makes the pod, volumes and secrets, keeps no key material and prints no key', async () => {
  fake = useFakePodman({})
  const { code, output } = await run()
  assert.is(code, 0, output)
  const made = fake.resources()
  assert.equal(made.volumes, ['jupyterhub_root', 'slurm_root'])
  assert.equal(made.secrets, ['jupyterhub-slurm-ssh-client-key', 'jupyterhub-slurm-ssh-host-key', 'jupyterhub-dev-login'])
  const built = fake.calls().filter((c) => c[0] === 'build').map((c) => c[c.indexOf('--tag') + 1]).sort()
  assert.equal(built, ['localhost/brics_jupyterhub:dev-latest', 'localhost/brics_slurm:dev-latest'])
  assert.equal(buildDirs(), [])
  const passwordFile = path.join(root, '_build_tmp', 'dev_login_password')
  assert.is(fs.statSync(passwordFile).mode & 0o777, 0o600)
  const password = fs.readFileSync(passwordFile, 'utf8').trim()
  assert.match(output, new RegExp(`Dev login password \\(dummy login\\): ${password}`))
  assert.match(output, /Environment dev_dummyauth is up: http:\/\/127\.0\.0\.1:8000\/jupyter\//)
  assert.match(output, /Step timings:/)
  assert.not.match(output, /PRIVATE KEY/)
})

test.run()
