// Cloning the development repositories into the image build contexts, at
// their pinned refs. An existing directory is never touched: that is how a
// developer tests local changes to those packages. It is only looked at, to
// say which commit it holds and whether that is the pin.
import fs from 'node:fs/promises'
import path from 'node:path'
import { UserError } from './errors.ts'
import { exec } from './exec.ts'
import { buildSettingsFromVariables, planImageBuild } from './images.ts'
import { pathExists, type RepoPaths } from './paths.ts'
import { DEFAULT_BRANCH, type DevRepo, devRepos } from './sources.ts'

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
      `no repository for ${repo.name}: set ${repo.overrideVars.url}, or the repository in the image's build.args`,
    )
  await fs.mkdir(path.dirname(repo.dest), { recursive: true })
  const partial = `${repo.dest}.partial-${process.pid}`
  try {
    const pinned = repo.ref !== DEFAULT_BRANCH
    await exec(['git', 'clone', '--progress', ...(pinned ? ['--no-checkout'] : []), repo.url, partial], { onLine })
    if (pinned) {
      const checkout = await exec(['git', '-C', partial, 'checkout', '--quiet', repo.ref], { nothrow: true })
      if (checkout.exitCode !== 0)
        throw new UserError(
          `${repo.name}: ${repo.url} has no ref ${repo.ref} (set ${repo.overrideVars.ref} to another one)`,
        )
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

/** The repositories at the refs the image builds would use (args files from the process environment included). */
export const devReposFor = (repo: RepoPaths, vars: NodeJS.ProcessEnv = process.env): DevRepo[] =>
  devRepos(vars, repo, (image) => planImageBuild(image, buildSettingsFromVariables(vars), repo).args)

const refName = (ref: string) => (ref === DEFAULT_BRANCH ? 'the default branch' : ref)

export const describeClone = ({ repo, skipped, commit }: CloneResult): string =>
  skipped
    ? `${repo.name}: ${repo.dest} exists, clone skipped (commit ${short(commit)})`
    : `${repo.name}: cloned ${repo.url} at ${refName(repo.ref)} (commit ${short(commit)})`

export const describeWarning = ({ repo, warning }: CloneResult): string | undefined =>
  warning && `warning: ${repo.name}: ${warning}; the image gets what the directory holds`
