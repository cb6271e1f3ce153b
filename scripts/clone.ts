// Step: clone the development repositories into the image build contexts, at
// their pinned refs. An existing directory is never touched: that is how a
// developer tests local changes to those packages. It is only looked at, to
// say which commit it holds and whether that is the pin.
import fs from 'node:fs/promises'
import path from 'node:path'
import { envBuildSettings, planImageBuild } from './build-images.ts'
import { parseCommandLine } from './lib/cli.ts'
import { UserError } from './lib/errors.ts'
import { exec } from './lib/exec.ts'
import { runStep } from './lib/main.ts'
import { pathExists, repoRoot } from './lib/paths.ts'
import { DEFAULT_BRANCH, type DevRepo, devRepos } from './lib/sources.ts'

export interface CloneResult {
  repo: DevRepo
  skipped: boolean
  /** Commit checked out, when the directory is a git work tree. */
  commit?: string
  /** Why the commit is not the pin, for an existing clone. */
  warning?: string
}

const git = async (dir: string, args: string[]): Promise<string | undefined> => {
  const run = await exec(['git', '-C', dir, ...args], { nothrow: true })
  return run.exitCode === 0 ? run.stdout.trim() : undefined
}

const short = (commit: string | undefined) => commit?.slice(0, 12) ?? 'unknown'

/** What an existing clone holds, compared with the pin. */
async function inspectClone(repo: DevRepo): Promise<CloneResult> {
  // Usually one git call: HEAD and the pin together.
  if (repo.ref !== DEFAULT_BRANCH) {
    const both = (await git(repo.dest, ['rev-parse', 'HEAD', `${repo.ref}^{commit}`]))?.split('\n')
    if (both?.length === 2 && both[0] === both[1]) return { repo, skipped: true, commit: both[0] }
  }
  const commit = await git(repo.dest, ['rev-parse', '--verify', '--quiet', 'HEAD'])
  if (!commit)
    return { repo, skipped: true, warning: `${repo.dest} is not a git clone, so its version cannot be checked` }
  if (repo.ref === DEFAULT_BRANCH) return { repo, skipped: true, commit }
  const pinned = await git(repo.dest, ['rev-parse', '--verify', '--quiet', `${repo.ref}^{commit}`])
  if (!pinned)
    return { repo, skipped: true, commit, warning: `the pin ${repo.ref} is unknown in this clone (git fetch --tags?)` }
  if (pinned !== commit)
    return {
      repo,
      skipped: true,
      commit,
      warning: `it holds ${short(commit)}, not the pin ${repo.ref} (${short(pinned)})`,
    }
  return { repo, skipped: true, commit }
}

/** Clones one repository at its ref unless its directory exists; a failed clone leaves nothing behind. */
export async function cloneRepo(repo: DevRepo, onLine?: (line: string) => void): Promise<CloneResult> {
  if (await pathExists(repo.dest)) return inspectClone(repo)
  if (!repo.url)
    throw new UserError(
      `no repository for ${repo.name}: set ${repo.env.url}, or the repository in the image's build.args`,
    )
  await fs.mkdir(path.dirname(repo.dest), { recursive: true })
  const partial = `${repo.dest}.partial-${process.pid}`
  try {
    const pinned = repo.ref !== DEFAULT_BRANCH
    await exec(['git', 'clone', '--progress', ...(pinned ? ['--no-checkout'] : []), repo.url, partial], { onLine })
    if (pinned) {
      const checkout = await exec(['git', '-C', partial, 'checkout', '--quiet', repo.ref], { nothrow: true })
      if (checkout.exitCode !== 0)
        throw new UserError(`${repo.name}: ${repo.url} has no ref ${repo.ref} (set ${repo.env.ref} to another one)`)
    }
    const commit = await git(partial, ['rev-parse', 'HEAD'])
    await fs.rename(partial, repo.dest)
    return { repo, skipped: false, commit }
  } catch (error) {
    await fs.rm(partial, { recursive: true, force: true })
    if (error instanceof UserError && /command not found/.test(error.message)) {
      throw new UserError(
        'git is not installed; install it (e.g. apt-get install git) to clone the development repositories',
      )
    }
    throw error
  }
}

/** The repositories at the refs the image builds would use with this environment (its args files included). */
export const envDevRepos = (env: NodeJS.ProcessEnv = process.env, root: string = repoRoot): DevRepo[] =>
  devRepos(env, root, (image) => planImageBuild(image, envBuildSettings(env), root).args)

export async function cloneDevRepos(
  repos: DevRepo[] = envDevRepos(),
  onLine?: (line: string) => void,
): Promise<CloneResult[]> {
  const results: CloneResult[] = []
  for (const repo of repos) results.push(await cloneRepo(repo, onLine))
  return results
}

const refName = (ref: string) => (ref === DEFAULT_BRANCH ? 'the default branch' : ref)

export const describeClone = ({ repo, skipped, commit }: CloneResult): string =>
  skipped
    ? `${repo.name}: ${repo.dest} exists, clone skipped (commit ${short(commit)})`
    : `${repo.name}: cloned ${repo.url} at ${refName(repo.ref)} (commit ${short(commit)})`

export const describeWarning = ({ repo, warning }: CloneResult): string | undefined =>
  warning && `warning: ${repo.name}: ${warning}; the image gets what the directory holds`

export const cli = {
  command: 'clone',
  summary:
    'Clone bricsauthenticator and slurmspawner_wrappers into the image build contexts (brics_*/_dev_build_data/) at their pinned refs. Existing clones are kept as they are.',
  options: {},
  notes:
    'Pins: BRICSAUTHENTICATOR_REPO/_REF in brics_jupyterhub/build.args, SLURMSPAWNER_WRAPPERS_REPO/_REF in brics_slurm/build.args.\n' +
    'Environment:\n' +
    '  JH_SLURM_BRICSAUTHENTICATOR_URL, JH_SLURM_SLURMSPAWNER_WRAPPERS_URL  repository URL, path or git bundle\n' +
    `  JH_SLURM_BRICSAUTHENTICATOR_REF, JH_SLURM_SLURMSPAWNER_WRAPPERS_REF  branch, tag or commit; ${DEFAULT_BRANCH} = default branch`,
}

runStep('clone', async () => {
  parseCommandLine(cli)
  for (const result of await cloneDevRepos(envDevRepos(), (line) => process.stderr.write(`  ${line}\n`))) {
    console.log(describeClone(result))
    const warning = describeWarning(result)
    if (warning) process.stderr.write(`${warning}\n`)
  }
})
