// The environments the suites and benchmarks work on: copies of the
// repository's own under names and host ports of their own, in a folder
// under test-output/ (inside the repository: the provisioned podman sees
// nothing else), reached through the product's JH_SLURM_ENVIRONMENTS_DIR.
// Their images carry a tag of their own (JH_SLURM_IMAGE_TAG). So a developer's
// environments, their volumes and the images under the usual tags are never
// touched by `npm test` or `npm run bench`.
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import {
  type Environment,
  LAUNCHER_FILE,
  listEnvironments,
  resolveEnvironment,
} from '../../../scripts/lib/environment.ts'
import { type ResourceNames, resourceNames } from '../../../scripts/lib/names.ts'
import { ENVIRONMENTS_DIR_VARIABLE, repoPaths, repoRoot } from '../../../scripts/lib/paths.ts'

/** The folder of the test environments (config/, volumes/). */
export const testEnvironmentsDir = path.join(repoRoot, 'test-output', 'environments')
/** The tag of the images the test environments build and run (stage-dev; the prod test names its own). */
export const TEST_TAG = 'e2e-dev'
export const TEST_PROD_TAG = 'e2e-prod'
/** Added to each host port of the copies: 9000 to 9003, hub API 9082 and 9083; below 16384. */
const PORT_OFFSET = 1000
export const TEST_PREFIX = 'e2e_'

/** The test name of one of the repository's environments: e2e_dev_dummyauth for dev_dummyauth. */
export const testName = (env: string): string => `${TEST_PREFIX}${env}`

/** The repository's own environments: the checkout's folders, whatever the process environment says. */
const checkout = () => repoPaths(repoRoot, repoRoot)

/** Copies every environment of the checkout (and volumes/_shared/) under its test name, host ports moved. */
function makeCopies(): void {
  fs.rmSync(testEnvironmentsDir, { recursive: true, force: true })
  const from = checkout()
  const to = repoPaths(repoRoot, testEnvironmentsDir)
  fs.cpSync(path.join(from.volumes, '_shared'), path.join(to.volumes, '_shared'), { recursive: true })
  for (const env of listEnvironments(from)) {
    const name = testName(env)
    fs.cpSync(path.join(from.config, env), path.join(to.config, name), { recursive: true })
    fs.cpSync(path.join(from.volumes, env), path.join(to.volumes, name), { recursive: true })
    // A pod file that extends another environment's extends that one's copy.
    const pod = path.join(to.config, name, 'pod.yaml')
    if (fs.existsSync(pod))
      fs.writeFileSync(pod, fs.readFileSync(pod, 'utf8').replace(/^extends: (\S+)$/m, `extends: ${TEST_PREFIX}$1`))
    const launcher = path.join(to.config, name, LAUNCHER_FILE)
    const settings = YAML.parse(fs.readFileSync(launcher, 'utf8')) as Record<string, unknown>
    for (const key of ['hostPort', 'hubApiHostPort'])
      if (typeof settings[key] === 'number') settings[key] = (settings[key] as number) + PORT_OFFSET
    fs.writeFileSync(launcher, `# A copy of ${env}'s for the tests, host ports moved.\n${YAML.stringify(settings)}`)
  }
}

let made = false

/**
 * Makes the test environments (once per process) and points every product
 * command this process runs, and repoPaths() in it, at them and the test tag.
 */
export function useTestEnvironments(): void {
  if (!made) makeCopies()
  made = true
  process.env[ENVIRONMENTS_DIR_VARIABLE] = testEnvironmentsDir
  process.env.JH_SLURM_IMAGE_TAG = TEST_TAG
}

export interface TestEnvironment extends Environment {
  /** The proxy's URL root, http://127.0.0.1:<hostPort>/. */
  url: string
}

/** The test copy of the repository's environment `env`, as the product resolves it. */
export function testEnvironment(env: string): TestEnvironment {
  useTestEnvironments()
  const resolved = resolveEnvironment(testName(env), repoPaths())
  return { ...resolved, url: `http://127.0.0.1:${resolved.hostPort}/` }
}

/** The podman names of every test environment. */
export const testEnvironmentNames = (): ResourceNames[] => {
  useTestEnvironments()
  return listEnvironments(repoPaths()).map(resourceNames)
}

/**
 * A copy of the repository's environment `env` under `name` (which starts
 * with the test prefix) on host port `hostPort`, for a suite that needs an
 * environment of its own beside the test copies (nodes.test.ts).
 */
export function ownTestEnvironment(env: string, name: string, hostPort: number): TestEnvironment {
  useTestEnvironments()
  const from = checkout()
  const to = repoPaths(repoRoot, testEnvironmentsDir)
  for (const kind of ['config', 'volumes'] as const) {
    fs.rmSync(path.join(to[kind], name), { recursive: true, force: true })
    fs.cpSync(path.join(from[kind], env), path.join(to[kind], name), { recursive: true })
  }
  const launcher = path.join(to.config, name, LAUNCHER_FILE)
  const settings = YAML.parse(fs.readFileSync(launcher, 'utf8')) as Record<string, unknown>
  fs.writeFileSync(launcher, `# A copy of ${env}'s for one suite.\n${YAML.stringify({ ...settings, hostPort })}`)
  const resolved = resolveEnvironment(name, repoPaths())
  return { ...resolved, url: `http://127.0.0.1:${resolved.hostPort}/` }
}
