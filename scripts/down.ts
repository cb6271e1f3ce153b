// `jh-slurm-pod down [<env>] [--all]`: tear environments down (see lib/teardown.ts).
import { removeDeadBuildDirs } from './lib/build-dirs.ts'
import { defineCommand } from './lib/command.ts'
import { listEnvironments } from './lib/environment.ts'
import { UsageError } from './lib/errors.ts'
import { COMMANDS } from './lib/options.ts'
import { withPodman } from './lib/podman.ts'
import { chooseTargets, environmentsUpNow, label, lockAll, teardown } from './lib/teardown.ts'

export const command = defineCommand(COMMANDS.down, async ({ values, positionals }, repo) => {
  if (values.all && positionals.length) throw new UsageError('give an environment or --all, not both')
  const { inventory, up } = await withPodman(() => environmentsUpNow(repo))
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY)
  const request = { env: positionals[0], all: values.all }
  const targets = await chooseTargets(up, request, listEnvironments(repo), interactive)
  const log = (line: string) => console.log(line)
  const swept = removeDeadBuildDirs(repo, log)
  if (typeof targets === 'string') return void console.log(targets)
  if (targets.length === 0) {
    if (swept.length === 0) console.log('nothing to remove: no environment is up')
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
  for (const target of targets) console.log(`environment ${label(target)} is down`)
})
