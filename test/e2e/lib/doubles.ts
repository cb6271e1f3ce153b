// The GitHub-only packages cannot be cloned here: the test makes local git
// repositories of their test doubles, and the pipeline's own clone step
// clones those (through the documented URL settings).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { $ } from 'zx'
import { repoRoot } from '../../../scripts/lib/paths.ts'

export async function doubleRepositories(): Promise<{ env: Record<string, string>; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jh-slurm-doubles-'))
  const env: Record<string, string> = {}
  for (const [name, variable] of [
    ['bricsauthenticator', 'JH_SLURM_BRICSAUTHENTICATOR_URL'],
    ['slurmspawner_wrappers', 'JH_SLURM_SLURMSPAWNER_WRAPPERS_URL'],
  ] as const) {
    const repo = path.join(dir, name)
    fs.cpSync(path.join(repoRoot, 'test', 'fixtures', `${name}-double`), repo, {
      recursive: true,
      filter: (src) => !/(\.egg-info|__pycache__|\.pytest_cache)$/.test(src),
    })
    await $({ cwd: repo, quiet: true })`git init -q && git add -A && git -c user.name=e2e -c user.email=e2e@localhost commit -qm ${`test double of ${name}`}`
    env[variable] = repo
  }
  return { env, dir }
}
