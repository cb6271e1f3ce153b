// What every end-to-end suite needs: whether it can run here, the settings
// `up` gets in place of what cannot be had here (documented options only),
// and timed phases.
import fs from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import path from 'node:path'
import type { Resource, UpEnvironment } from '../../../scripts/lib/inventory.ts'
import type { ResourceNames } from '../../../scripts/lib/names.ts'
import { parseOnOff } from '../../../scripts/lib/on-off.ts'
import { checkPodman, podmanSucceeds } from '../../../scripts/lib/podman.ts'
import { repoPaths, repoRoot } from '../../../scripts/lib/paths.ts'
import { environmentsUpNow, teardown } from '../../../scripts/lib/teardown.ts'
import { TEST_PREFIX } from './test-environments.ts'
import { upstreamRepositories } from './upstream.ts'

export const STANDINS = [
  'localhost/test-double/jupyterhub:5.4.2',
  'localhost/test-double/slurm:full-root',
  'localhost/test-double/alpine:3.21',
]
export const outputDir = path.join(repoRoot, 'test-output')
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'build-args')
const hostCaBundle = '/etc/ssl/certs/ca-certificates.crt'

/** CI=true (or any other on word of the one rule, scripts/lib/on-off.ts): the suites must run. */
export const inCI = parseOnOff(process.env.CI) === true

/** Why the suites cannot run here, or undefined when they can. */
export async function unavailable(): Promise<string | undefined> {
  try {
    await checkPodman()
  } catch (error) {
    return (error as Error).message
  }
  for (const image of STANDINS) {
    if (!(await podmanSucceeds(['image', 'exists', image])))
      return `stand-in base image ${image} is missing (run test/e2e/provision/provision.ts setup)`
  }
  const upstream = upstreamRepositories()
  return 'missing' in upstream ? upstream.missing : undefined
}

/** Settings for `up`: the bundles as clone sources, the stand-in base images, the host's CA bundle. */
export function upEnvironment(): NodeJS.ProcessEnv {
  const upstream = upstreamRepositories() as { env: Record<string, string> }
  return {
    ...upstream.env,
    JH_SLURM_HUB_ARGS_FILE: path.join(fixtures, 'hub-e2e.args'),
    JH_SLURM_SLURM_ARGS_FILE: path.join(fixtures, 'slurm-e2e.args'),
    JH_SLURM_NADIR_ARGS_FILE: path.join(fixtures, 'nadir-e2e.args'),
    ...(fs.existsSync(hostCaBundle) ? { JH_SLURM_BUILD_CA_BUNDLE: hostCaBundle } : {}),
  }
}

const isTestEnvironment = (e: UpEnvironment): boolean => e.names.env.startsWith(TEST_PREFIX)

/** The test environments up now: what the suites made. Others (a developer's) are not theirs to look at. */
export async function ownUp(): Promise<UpEnvironment[]> {
  return (await environmentsUpNow(repoPaths())).up.filter(isTestEnvironment)
}

/** Environments up now that are not test environments. */
export async function othersUp(): Promise<string[]> {
  return (await environmentsUpNow(repoPaths())).up.filter((e) => !isTestEnvironment(e)).map((e) => e.names.env)
}

/** What is left in podman of the test environments. */
export const ownLeftovers = async (): Promise<Resource[]> => (await ownUp()).flatMap((e) => e.resources)

/**
 * Removes what `targets` (test environments) name before the suite (a run
 * that died may have left it up) and again after it, whatever the tests did.
 */
export function cleanAround(targets: () => ResourceNames[]): void {
  test.before(async () => {
    await teardown(repoPaths(), targets())
    const others = await othersUp()
    if (others.length) console.log(`  [e2e] up and left alone (not the tests'): ${others.join(', ')}`)
  })
  test.after(() =>
    teardown(repoPaths(), targets()).then(
      () => undefined,
      (error: unknown) => console.error(`cleanup: ${error}`),
    ),
  )
}

export const timings: Array<[string, number]> = []
export async function phase<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const start = Date.now()
  try {
    return await fn()
  } finally {
    timings.push([name, (Date.now() - start) / 1000])
    console.log(`  [e2e] ${name}: ${((Date.now() - start) / 1000).toFixed(1)} s`)
  }
}

/**
 * Defines the suite's tests when podman, the stand-in images and the bundles
 * are there. Without them it is skipped, loudly, except under CI=true, where
 * one failing test says what is missing.
 */
export async function whenProvisioned(defineTests: () => void): Promise<void> {
  const reason = await unavailable()
  if (!reason) return defineTests()
  if (!inCI) {
    console.warn(
      `\n${'!'.repeat(72)}\n!! END-TO-END TESTS SKIPPED: ${reason}\n!! They run in CI (CI=true), where this is a failure. See test/e2e/provision/README.md.\n${'!'.repeat(72)}\n`,
    )
    return
  }
  test('podman and the stand-in base images are provisioned', () => {
    assert.unreachable(`cannot run the end-to-end tests: ${reason}`)
  })
}
