// Step: clone the development repositories into the image build contexts.
// An existing directory is never touched: that is how a developer tests
// local changes to those packages.
import fs from 'node:fs/promises'
import path from 'node:path'
import { parseCommandLine } from './lib/cli.ts'
import { UserError } from './lib/errors.ts'
import { exec } from './lib/exec.ts'
import { runStep } from './lib/main.ts'
import { pathExists } from './lib/paths.ts'
import { type DevRepo, devRepos } from './lib/sources.ts'

export interface CloneResult {
  repo: DevRepo
  skipped: boolean
}

/** Clones one repository unless its directory exists; a failed clone leaves nothing behind. */
export async function cloneRepo(repo: DevRepo, onLine?: (line: string) => void): Promise<CloneResult> {
  if (await pathExists(repo.dest)) return { repo, skipped: true }
  await fs.mkdir(path.dirname(repo.dest), { recursive: true })
  const partial = `${repo.dest}.partial-${process.pid}`
  try {
    await exec(['git', 'clone', '--progress', repo.url, partial], { onLine })
    await fs.rename(partial, repo.dest)
  } catch (error) {
    await fs.rm(partial, { recursive: true, force: true })
    if (error instanceof UserError && /command not found/.test(error.message)) {
      throw new UserError('git is not installed; install it (e.g. apt-get install git) to clone the development repositories')
    }
    throw error
  }
  return { repo, skipped: false }
}

export async function cloneDevRepos(repos: DevRepo[] = devRepos(), onLine?: (line: string) => void): Promise<CloneResult[]> {
  const results: CloneResult[] = []
  for (const repo of repos) results.push(await cloneRepo(repo, onLine))
  return results
}

export const describeClone = ({ repo, skipped }: CloneResult): string =>
  skipped ? `${repo.name}: ${repo.dest} exists, clone skipped` : `${repo.name}: cloned ${repo.url}`

export const cli = {
  command: 'clone',
  summary:
    'Clone bricsauthenticator and slurmspawner_wrappers into the image build contexts (brics_*/_dev_build_data/). Existing clones are kept as they are.',
  options: {},
  notes: 'Environment:\n  JH_SLURM_BRICSAUTHENTICATOR_URL     repository URL or path of bricsauthenticator\n  JH_SLURM_SLURMSPAWNER_WRAPPERS_URL  repository URL or path of slurmspawner_wrappers',
}

runStep(import.meta.url, async () => {
  parseCommandLine(cli)
  for (const result of await cloneDevRepos(devRepos(), (line) => process.stderr.write(`  ${line}\n`))) {
    console.log(describeClone(result))
  }
})
