// `jh-slurm-pod down [<env>] [--all]`: tear environments down (see lib/teardown.ts).
import { removeDeadBuildDirs } from './lib/build-dirs.ts'
import { defineCommand } from './lib/command.ts'
import { listEnvironments, validEnvironmentName } from './lib/environment.ts'
import { UsageError } from './lib/errors.ts'
import { resourceNames } from './lib/names.ts'
import { COMMANDS } from './lib/options.ts'
import type { RepoPaths } from './lib/paths.ts'
import { withPodman } from './lib/podman.ts'
import { chooseTargets, environmentsUpNow, label, lockAll, teardown } from './lib/teardown.ts'

/** `down <env>` of a known environment: removed by name, with no listing of what is up. */
async function downByName(repo: RepoPaths, envName: string, log: (line: string) => void): Promise<void> {
  removeDeadBuildDirs(repo, log)
  const release = lockAll(repo, [envName])
  try {
    const removed = await teardown(repo, [resourceNames(envName)], { onLine: log })
    log(removed.length ? `environment ${envName} is down` : `nothing to remove: environment ${envName} is not up`)
  } finally {
    release()
  }
}

export const command = defineCommand(COMMANDS.down, async ({ values, positionals }, repo) => {
  if (values.all && positionals.length) throw new UsageError('give an environment or --all, not both')
  const log = (line: string) => console.log(line)
  const known = listEnvironments(repo)
  const [named] = positionals
  if (named !== undefined && known.includes(validEnvironmentName(named, known))) return downByName(repo, named, log)
  // Which environments to remove must be found: what is up (any labelled pod, the old fixed names).
  const { inventory, up } = await withPodman(() => environmentsUpNow(repo))
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY)
  const targets = await chooseTargets(up, { env: named, all: values.all }, known, interactive)
  const swept = removeDeadBuildDirs(repo, log)
  if (targets.length === 0) {
    if (named !== undefined) log(`nothing to remove: environment ${named} is not up`)
    else if (swept.length === 0) log('nothing to remove: no environment is up')
    return
  }
  const release = lockAll(
    repo,
    targets.map((t) => t.names.env),
  )
  try {
    await teardown(
      repo,
      targets.map((t) => t.names),
      { onLine: log, inventory },
    )
  } finally {
    release()
  }
  for (const target of targets) log(`environment ${label(target)} is down`)
})
