// The real BriCS packages for the end-to-end test. GitHub is unreachable on
// the test machines, so their upstream repositories come as git bundles
// (complete clones, all tags). The product's own clone step reads them
// through its documented settings (JH_SLURM_*_URL), like any remote.
import fs from 'node:fs'
import path from 'node:path'
import { repoRoot } from '../../../scripts/lib/paths.ts'

export const BUNDLES_ENV = 'JH_SLURM_E2E_UPSTREAM_DIR'

/**
 * Where the bundles are looked for: the setting, else shared/upstream beside
 * the checkout or beside a folder above it (a worktree inside a checkout).
 */
function candidates(): string[] {
  const fromEnv = process.env[BUNDLES_ENV]
  if (fromEnv) return [path.resolve(fromEnv)]
  const found: string[] = []
  for (let dir = repoRoot; path.dirname(dir) !== dir; dir = path.dirname(dir))
    found.push(path.join(path.dirname(dir), 'shared', 'upstream'))
  return found
}

/** Where the bundles are, or why they cannot be found. */
function bundleDir(bundles: string[]): { dir: string } | { missing: string } {
  const tried = candidates()
  const dir = tried.find((d) => bundles.every((b) => fs.existsSync(path.join(d, b))))
  if (dir) return { dir }
  return { missing: `git bundles ${bundles.join(', ')} not found in ${tried.join(' or ')} (set ${BUNDLES_ENV})` }
}

const BUNDLES = {
  JH_SLURM_BRICSAUTHENTICATOR_URL: 'bricsauthenticator.bundle',
  JH_SLURM_SLURMSPAWNER_WRAPPERS_URL: 'slurmspawner_wrappers.bundle',
} as const

/** The clone settings pointing at the bundles, or why they cannot be found. */
export function upstreamRepositories(): { env: Record<string, string> } | { missing: string } {
  const found = bundleDir(Object.values(BUNDLES))
  if ('missing' in found) return found
  return {
    env: Object.fromEntries(
      Object.entries(BUNDLES).map(([variable, bundle]) => [variable, path.join(found.dir, bundle)]),
    ),
  }
}

/** The original launcher's repository (the benchmark runs it), or why it cannot be found. */
export function originalLauncherBundle(): { bundle: string } | { missing: string } {
  const file = 'brics_jupyterhub_envs.bundle'
  const found = bundleDir([file])
  return 'missing' in found ? found : { bundle: path.join(found.dir, file) }
}
