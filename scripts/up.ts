// `jh-slurm-pod up <env>`: the whole launcher as one task list. The plan is
// worked out first; the phases in scripts/tasks/ each return their tasks.
// This file holds the lock, the signals, the list, the rollback and the summary.
import fs from 'node:fs/promises'
import path from 'node:path'
import { Listr, type ListrTask } from 'listr2'
import { beginUpRecord } from './lib/applied.ts'
import { runsDevIssuer } from './lib/dev-issuer.ts'
import { makeBuildDir, markKept } from './lib/build-dirs.ts'
import { defineCommand } from './lib/command.ts'
import { deployConfigOverlay } from './lib/deploy-config.ts'
import { parsePort, resolveEnvironment } from './lib/environment.ts'
import { reportError, UsageError, UserError } from './lib/errors.ts'
import { killRunning } from './lib/exec.ts'
import { buildSettings } from './lib/images.ts'
import { acquireLock } from './lib/lock.ts'
import { baseUrlOf } from './lib/base-url.ts'
import { hubUrl, IMAGE_KEYS, resourceNames } from './lib/names.ts'
import { COMMANDS } from './lib/options.ts'
import type { RepoPaths } from './lib/paths.ts'
import { teardown } from './lib/teardown.ts'
import { planUp, type UpOptions, type UpPlan } from './lib/up-plan.ts'
import { checkTasks } from './tasks/checks.ts'
import { cloneTasks } from './tasks/clones.ts'
import {
  LIST_OPTIONS,
  produced,
  settled,
  stepTimings,
  stopIfInterrupted,
  timed,
  type UpContext,
} from './tasks/context.ts'
import { listRunImages, makeTasks } from './tasks/make.ts'
import { startPod, upRecordInput, waitForHub } from './tasks/start.ts'

/** The tasks of `up`, in the order of the original launcher. */
export function upTasks(plan: UpPlan, repo: RepoPaths): ListrTask<UpContext>[] {
  const { envName, build, waitSeconds } = plan.options
  return [
    timed('Check environment and prerequisites', (ctx, task) => settled(ctx, task, checkTasks(plan))),
    timed('Make build directory', (ctx, task) => {
      ctx.mayRollBack = true
      ctx.buildDir = makeBuildDir(repo, envName)
      task.title = `Make build directory ${path.relative(repo.root, ctx.buildDir)}`
    }),
    timed('Clone development repositories', (ctx, task) => settled(ctx, task, cloneTasks(plan))),
    // The original builds, then makes volumes, keys and manifest; none of
    // these depends on the images, so they run while the builds do.
    timed(`Build images (${build.target}); meanwhile create volumes, generate SSH keys, render manifest`, (ctx, task) =>
      // The sources are read for the record before anything is built from them.
      Promise.all([beginUpRecord(upRecordInput(plan, repo)), listRunImages(plan)]).then(([sources, listed]) => {
        ctx.sources = sources
        return settled(ctx, task, makeTasks(plan, repo, listed, produced(ctx.remote, 'the podman check')))
      }),
    ),
    timed('Start pod (podman kube play)', (ctx, task) => startPod(plan, repo, ctx, task)),
    {
      ...timed('Wait for JupyterHub', (ctx) => waitForHub(plan, ctx)),
      skip: () => (waitSeconds <= 0 ? 'not waiting (--wait 0)' : false),
    },
  ]
}

/** Notes of the tasks (a clone not at its pin, the hub's log), once the list has drawn. */
function printNotes(ctx: UpContext): void {
  for (const note of ctx.notes.splice(0)) process.stderr.write(`${note}\n`)
}

async function rollBack(repo: RepoPaths, envName: string): Promise<void> {
  process.stderr.write('rolling back what this run created:\n')
  const onLine = (line: string) => process.stderr.write(`  ${line}\n`)
  const removed = await teardown(repo, [resourceNames(envName)], { onLine })
  if (removed.length === 0) process.stderr.write('  nothing had been created\n')
}

/** Runs the list; on failure reports, stops what runs, and rolls back what the run made. */
async function runList(list: Listr<UpContext>, ctx: UpContext, repo: RepoPaths, envName: string): Promise<number> {
  try {
    await list.run()
    stopIfInterrupted(ctx)
    return 0
  } catch (error) {
    printNotes(ctx)
    const signal = ctx.interrupted
    const code = signal
      ? reportError(new UserError(`interrupted by ${signal}`, signal === 'SIGTERM' ? 143 : 130))
      : reportError(error)
    await killRunning()
    if (ctx.mayRollBack) await rollBack(repo, envName).catch((e) => reportError(e, 'rollback failed'))
    return code
  }
}

export async function up(options: UpOptions, repo: RepoPaths): Promise<number> {
  const plan = await planUp(options, repo)
  const release = acquireLock(repo.lockFile(options.envName), 'up')
  const ctx: UpContext = { mayRollBack: false, starts: [], notes: [], interruption: new AbortController() }
  const onSignal = (signal: NodeJS.Signals) => {
    if (ctx.interrupted) return
    ctx.interrupted = signal
    ctx.interruption?.abort()
    // Through the list while it draws; before it starts, nothing draws.
    if (ctx.current) ctx.current.output = `${signal} received: stopping`
    else process.stderr.write(`${signal} received: stopping\n`)
    void killRunning()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const list = new Listr<UpContext>(upTasks(plan, repo), { ctx, ...LIST_OPTIONS })
  let code = 1
  try {
    code = await runList(list, ctx, repo, options.envName)
    printNotes(ctx)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    // Keys and manifest go whatever happened, unless asked to keep them.
    if (ctx.buildDir && (!options.keepBuildData || code !== 0))
      await fs.rm(ctx.buildDir, { recursive: true, force: true })
    else if (ctx.buildDir) markKept(ctx.buildDir)
    release()
  }
  if (code === 0) printSummary(plan, ctx, repo)
  return code
}

/** Whose login the run's password opens. */
const passwordFor = (plan: UpPlan): string =>
  runsDevIssuer(plan.pod) || plan.server ? 'development issuer, any dev user' : 'dummy login'

function printSummary(plan: UpPlan, ctx: UpContext, repo: RepoPaths): void {
  const { envName, keepBuildData } = plan.options
  const passwordFile = path.relative(repo.root, repo.devLoginPasswordFile(envName))
  const password = ctx.secrets?.devLoginPassword
  const lines = [
    '',
    `Environment ${envName} is up: ${hubUrl(plan.ports.proxy, baseUrlOf(plan.deployConfig))}`,
    ...(password
      ? [`Dev login password (${passwordFor(plan)}): ${password} (also in ${passwordFile}, mode 0600)`]
      : []),
    keepBuildData
      ? `Build data kept in ${ctx.buildDir} — it holds private keys; delete it with: rm -rf ${ctx.buildDir}`
      : 'Build data (keys, manifest) deleted; pass --keep-build-data to keep it',
    `Tear down with: jh-slurm-pod down ${envName}`,
    '',
    'Step timings:',
    ...stepTimings(ctx.starts, Date.now()).map(([title, ms]) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${title}`),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

export const command = defineCommand(COMMANDS.up, async ({ values, positionals, sources }, repo) => {
  const waitSeconds = Number(values.wait)
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0)
    throw new UsageError(`--wait takes a number of seconds, got "${values.wait}"`)
  const env = resolveEnvironment(positionals[0], repo)
  return up(
    {
      envName: env.name,
      // The environment's stage unless --target says otherwise (prod: stage-prod).
      build: buildSettings(values, IMAGE_KEYS, env.target),
      hostPort: values.port === undefined ? undefined : parsePort(values.port, '--port'),
      clusterFiles: { clientKey: values['ssh-client-key'], knownHosts: values['ssh-known-hosts'] },
      nadirFiles: { sshKey: values['nadir-ssh-key'], serverAddress: values['nadir-server-address'] },
      network: values.network,
      keepBuildData: values['keep-build-data'],
      waitSeconds,
      deployConfig: deployConfigOverlay(values['deploy-config'], sources['deploy-config']),
    },
    repo,
  )
})
