// The real BriCS packages for the end-to-end test. GitHub is unreachable on
// the test machines, so their upstream repositories come as git bundles
// (complete clones, all tags). The product's own clone step reads them
// through its documented settings (JH_SLURM_*_URL), like any remote.
import fs from 'node:fs'
import path from 'node:path'
import { repoRoot } from '../../../scripts/lib/paths.ts'

export const BUNDLES_ENV = 'JH_SLURM_E2E_UPSTREAM_DIR'

/** Where the bundles are looked for: the setting, then next to the checkout. */
function candidates(): string[] {
  const fromEnv = process.env[BUNDLES_ENV]
  if (fromEnv) return [path.resolve(fromEnv)]
  return [path.resolve(repoRoot, '..', 'shared', 'upstream'), '/work/shared/upstream']
}

const BUNDLES = {
  JH_SLURM_BRICSAUTHENTICATOR_URL: 'bricsauthenticator.bundle',
  JH_SLURM_SLURMSPAWNER_WRAPPERS_URL: 'slurmspawner_wrappers.bundle',
} as const

/** The clone settings pointing at the bundles, or why they cannot be found. */
export function upstreamRepositories(): { env: Record<string, string> } | { missing: string } {
  const tried = candidates()
  const dir = tried.find((d) => Object.values(BUNDLES).every((b) => fs.existsSync(path.join(d, b))))
  if (!dir)
    return {
      missing: `git bundles of bricsauthenticator and slurmspawner_wrappers not found in ${tried.join(' or ')} (set ${BUNDLES_ENV})`,
    }
  return {
    env: Object.fromEntries(Object.entries(BUNDLES).map(([variable, bundle]) => [variable, path.join(dir, bundle)])),
  }
}
