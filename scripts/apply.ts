// `jh-slurm-pod apply <env> [--watch]`: brings what was edited into an
// environment that is up, doing only what each change needs (docs/apply.md).
import path from 'node:path'
import { type ApplyOptions, planApply } from './lib/apply-plan.ts'
import { defineCommand } from './lib/command.ts'
import { deployConfigOverlay } from './lib/deploy-config.ts'
import { resolveEnvironment } from './lib/environment.ts'
import { reportError, UsageError } from './lib/errors.ts'
import { acquireLock } from './lib/lock.ts'
import { COMMANDS } from './lib/options.ts'
import type { RepoPaths } from './lib/paths.ts'
import { nothingChanged } from './lib/snapshot.ts'
import { watchTrees } from './lib/watch.ts'
import { describeChanges, runApplyTasks } from './tasks/apply.ts'

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1)

/** One apply under the environment's lock; returns the exit code. */
export async function applyOnce(options: ApplyOptions, repo: RepoPaths): Promise<number> {
  const started = performance.now()
  const { envName } = options
  const release = acquireLock(repo.lockFile(envName), 'apply')
  try {
    const plan = await planApply(options, repo)
    if (plan.changes && nothingChanged(plan.changes)) {
      const hub = plan.running.containers.jupyterhub
      const note = hub && hub !== 'running' ? `; the hub container is ${hub} (jh-slurm-pod logs ${envName} hub)` : ''
      process.stdout.write(`${envName}: nothing changed since the last up or apply, nothing to do${note}\n`)
      return 0
    }
    await runApplyTasks(plan, options.waitSeconds, repo)
    process.stdout.write(`${envName}: ${describeChanges(plan)} (${seconds(started)} s)\n`)
    return 0
  } finally {
    release()
  }
}

/** Directories whose files make an environment: image contexts (with the clones), volumes, config. */
function watchedDirs(envName: string, repo: RepoPaths): string[] {
  const env = resolveEnvironment(envName, repo)
  const contexts = ['brics_jupyterhub', 'brics_slurm'].map((dir) => path.join(repo.root, dir))
  return [...contexts, env.sharedVolumesDir, env.volumesDir, env.configDir]
}

async function watch(options: ApplyOptions, repo: RepoPaths): Promise<number> {
  const once = () => applyOnce(options, repo).catch((error: unknown) => reportError(error))
  await once()
  const watcher = watchTrees(watchedDirs(options.envName, repo), async (changed) => {
    const shown = changed.map((f) => path.relative(repo.root, f))
    process.stdout.write(`\nsaved: ${shown.slice(0, 5).join(', ')}${shown.length > 5 ? ', ...' : ''}\n`)
    await once()
  })
  process.stdout.write(
    `watching ${options.envName}: saved edits are applied; Ctrl-C stops watching (the environment stays up)\n`,
  )
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  watcher.close()
  process.stdout.write(`\n${signal}: stopped watching; ${options.envName} stays up\n`)
  return 0
}

export const command = defineCommand(COMMANDS.apply, async ({ values, positionals, sources }, repo) => {
  const env = resolveEnvironment(positionals[0], repo)
  const waitSeconds = Number(values.wait)
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0)
    throw new UsageError(`--wait takes a number of seconds, got "${values.wait}"`)
  const options: ApplyOptions = {
    envName: env.name,
    deployConfig: deployConfigOverlay(values['deploy-config'], sources['deploy-config']),
    waitSeconds,
  }
  return values.watch ? watch(options, repo) : applyOnce(options, repo)
})
