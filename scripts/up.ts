// `npm run up -- <env>`: the whole launcher as one task list. Each task calls
// the step module that also runs on its own; this file holds only order,
// titles, concurrency and rollback.
import fs from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { Listr, type ListrTask } from 'listr2'
import {
  baseImageOf,
  buildImage,
  buildOptions,
  buildSettings,
  type BuildSettings,
  type ImageBuild,
  imageInputs,
  listImages,
  type ListedImage,
  planImageBuild,
} from './build-images.ts'
import { type CloneResult, cloneRepo, describeClone, describeWarning } from './clone.ts'
import { teardown } from './down.ts'
import { type EnvironmentKeys, generateEnvironmentKeys } from './keygen.ts'
import { parseCommandLine } from './lib/cli.ts'
import { type DeployConfig, resolveDeployConfig } from './lib/deploy-config.ts'
import { type DevUser, readDevUsers } from './lib/dev-users.ts'
import { makeBuildDir, markKept } from './lib/build-dirs.ts'
import { type Environment, parsePort, resolveEnvironment } from './lib/environment.ts'
import { reportError, UserError } from './lib/errors.ts'
import { killRunning } from './lib/exec.ts'
import { acquireLock } from './lib/lock.ts'
import { runStep } from './lib/main.ts'
import {
  describeResources,
  environmentsUp,
  type Inventory,
  takeInventory,
  takeVolumeInventory,
} from './lib/inventory.ts'
import { containerName, DEV_TARGET, HUB_HOST, hubUrl, type ImageKey, LEGACY, resourceNames } from './lib/names.ts'
import { volumeOwners } from './lib/owners.ts'
import { repoPaths, repoRoot } from './lib/paths.ts'
import { checkPodman, podman } from './lib/podman.ts'
import { checkPortFree, checkTool } from './lib/preflight.ts'
import { type DevRepo, devRepos } from './lib/sources.ts'
import { waitForHttp } from './lib/wait.ts'
import {
  builtImages,
  type ClusterAccess,
  deployConfigOption,
  newDevLoginPassword,
  portOption,
  readClusterAccess,
  readPodTemplate,
  renderManifest,
  sshClientKeyOption,
  sshKnownHostsOption,
  type TemplateUse,
  templateUse,
  usesExternalSlurm,
  writeManifest,
} from './manifest.ts'
import { networkOption, playManifest } from './play.ts'
import { createVolume, volumeSpecs } from './volumes.ts'

export interface UpOptions {
  envName: string
  build: BuildSettings
  keepBuildData: boolean
  waitSeconds: number
  /** Deploy settings laid over config/<env>/deploy-config.yaml. */
  deployConfigFile?: string
  /** Host port of the hub instead of the environment's own. */
  hostPort?: number
  /** For an environment whose Slurm is elsewhere: the hub's key and the login node's host key line. */
  sshClientKeyFile?: string
  sshKnownHostsFile?: string
  /** A podman network for the pod (one that reaches the cluster, say). */
  network?: string
  root?: string
}

/** What this environment's pod asks for: decided before anything runs. */
interface UpPlan {
  env: Environment
  pod: Record<string, unknown>
  use: TemplateUse
  /** The image builds: those of the images the pod runs, resolved once. */
  builds: ImageBuild[]
  /** The repositories to clone: those of the images built at stage-dev. */
  repos: DevRepo[]
  /** Whether every clone is there already (then the builds may start at once). */
  clonesExist: boolean
}

async function planUp(options: UpOptions, root: string): Promise<UpPlan> {
  const env = resolveEnvironment(options.envName, root)
  const pod = await readPodTemplate(env.podTemplate)
  const use = templateUse(pod)
  const builds = options.build.images
    .filter((image) => use.images.includes(image))
    .map((image) => planImageBuild(image, options.build, root))
  // The clones follow the refs of the build (pins, overlays, --*-build-arg).
  const argsOf = (image: ImageKey) =>
    (builds.find((b) => b.image === image) ?? planImageBuild(image, options.build, root)).args
  const repos =
    options.build.target === DEV_TARGET
      ? devRepos(process.env, root, argsOf).filter((r) => builds.some((b) => b.image === r.image))
      : []
  return { env, pod, use, builds, repos, clonesExist: repos.every((r) => existsSync(r.dest)) }
}

interface UpContext {
  plan?: UpPlan
  hostPort?: number
  users?: DevUser[]
  deployConfig?: DeployConfig
  cluster?: ClusterAccess
  buildDir?: string
  keys?: Partial<EnvironmentKeys>
  devLoginPassword?: string
  manifestFile?: string
  /** Set once the checks pass: from then on a failure rolls back. */
  mayRollBack: boolean
  /** When each top-level task started; tasks run one after another. */
  starts: Array<[string, number]>
  /** Set by SIGINT/SIGTERM: no further task starts. */
  interrupted?: NodeJS.Signals
  /** Tasks running side by side: a failed one must not leave the others making resources during the rollback. */
  running: Array<Promise<unknown>>
  /** Builds started while the checks run (when every clone exists already). */
  earlyBuilds: Partial<Record<ImageKey, EarlyBuild>>
  /** The local images, listed once for all builds (see buildUnlessCurrent). */
  images?: Promise<ListedImage[]>
  /** The look at the existing clones, started then too. */
  earlyClones: Map<string, Promise<CloneResult>>
}

/** A build started ahead of its task, and where its output goes once the task shows it. */
interface EarlyBuild {
  /** Whether it built (false: the image was current). */
  done: Promise<boolean>
  lines: string[]
  show?: (line: string) => void
}

/** Runs `work` as one of several side-by-side tasks; the rollback waits for all of them. */
function sideBySide<T>(ctx: UpContext, work: () => Promise<T>): Promise<T> {
  const promise = work()
  ctx.running.push(promise)
  return promise
}

/** Nothing new starts once SIGINT/SIGTERM came. */
function stopIfInterrupted(ctx: UpContext): void {
  if (ctx.interrupted) throw new UserError(`interrupted by ${ctx.interrupted}`)
}

/** A top-level task whose start is recorded (its subtasks finish before the next starts). */
const timed = (title: string, fn: ListrTask<UpContext>['task']): ListrTask<UpContext> => ({
  title,
  task: (ctx, task) => {
    stopIfInterrupted(ctx)
    ctx.starts.push([title, Date.now()])
    return fn(ctx, task)
  },
})

/** Seconds each top-level task took, from consecutive start times. */
export function stepTimings(starts: Array<[string, number]>, end: number): Array<[string, number]> {
  return starts.map(([title, start], i) => [title, (starts[i + 1]?.[1] ?? end) - start])
}

/** The one look at the run's images and their base images, made when the first build asks. */
const imagesOf = (ctx: UpContext): Promise<ListedImage[]> =>
  (ctx.images ??= listImages(
    (ctx.plan as UpPlan).builds.flatMap((build) => [build.ref, baseImageOf(build) ?? []].flat()),
  ))

/**
 * One image's build in `up`: none when the image was built from the same
 * inputs (see INPUTS_LABEL); otherwise podman build, unless the run was
 * interrupted while it looked. Returns whether it built.
 */
async function buildUnlessCurrent(ctx: UpContext, build: ImageBuild, onLine: (line: string) => void): Promise<boolean> {
  const { current, inputs } = imageInputs(build, await imagesOf(ctx))
  if (current) return false
  stopIfInterrupted(ctx)
  await buildImage(build, onLine, inputs)
  return true
}

/** The tasks of `up`, in the order of the original launcher. */
export function upTasks(options: UpOptions): ListrTask<UpContext>[] {
  const root = options.root ?? repoRoot
  const paths = repoPaths(root)
  const planOf = (ctx: UpContext) => ctx.plan as UpPlan
  return [
    timed('Check environment and prerequisites', (ctx, task) => {
      const { env, use } = planOf(ctx)
      ctx.hostPort = options.hostPort ?? env.hostPort
      if (use.configMaps.includes('devUsers')) ctx.users = readDevUsers(env.devUsersFile, root)
      ctx.deployConfig = resolveDeployConfig(env.configDir, options.deployConfigFile)
      const port = ctx.hostPort
      const apiPort = use.publishesHubApi ? env.hubApiHostPort : undefined
      return task.newListr(
        [
          {
            title: `podman, git and ssh-keygen; ${options.envName} is not up and port ${port} is free`,
            task: async (_ctx, sub) => {
              // All at once; a missing or too old podman is what gets reported first.
              const [podmanCheck, inventory, sshKeygen, cluster, portFree] = await Promise.allSettled([
                checkPodman({ file: paths.podmanVersionCache }),
                takeVolumeInventory(),
                checkTool('ssh-keygen', 'install OpenSSH (e.g. apt-get install openssh-client)'),
                usesExternalSlurm(use)
                  ? readClusterAccess(options.envName, options.sshClientKeyFile, options.sshKnownHostsFile)
                  : Promise.resolve(undefined),
                Promise.all([
                  checkPortFree(port, HUB_HOST),
                  apiPort === undefined ? undefined : checkPortFree(apiPort, '0.0.0.0'),
                ]),
              ])
              for (const result of [podmanCheck, inventory, sshKeygen, cluster])
                if (result.status === 'rejected') throw result.reason
              ctx.cluster = (cluster as PromiseFulfilledResult<ClusterAccess | undefined>).value
              const version = (podmanCheck as PromiseFulfilledResult<string>).value
              if (!planOf(ctx).clonesExist) {
                await checkTool('git', 'install git (e.g. apt-get install git)')
              }
              const up = environmentsUp((inventory as PromiseFulfilledResult<Inventory>).value, [options.envName])
              const same = up.find((e) => e.names.env === options.envName)
              if (same) {
                throw new UserError(
                  `environment ${options.envName} is already up (${describeResources(same.resources)}); run \`npm run down -- ${options.envName}\` first`,
                )
              }
              const legacy = up.find((e) => e.names.env === LEGACY)
              if (legacy) {
                throw new UserError(
                  `an environment from an earlier version is still up under the old fixed names (${describeResources(legacy.resources)}); remove it with \`npm run down -- --all\``,
                )
              }
              if (portFree.status === 'rejected') {
                // Which of our environments holds the port, if one does: the pods' labels say.
                const holder = environmentsUp(await takeInventory(), []).find((e) => e.hostPort === port)
                if (holder) {
                  throw new UserError(
                    `port ${port} is used by environment ${holder.names.env}; choose another with --port, or run \`npm run down -- ${holder.names.env}\``,
                  )
                }
                throw portFree.reason
              }
              sub.title = `podman ${version}, git and ssh-keygen; ${options.envName} is not up and port ${port} is free`
            },
          },
        ],
        { exitOnError: true },
      )
    }),
    timed('Make build directory', async (ctx, task) => {
      ctx.mayRollBack = true
      ctx.buildDir = makeBuildDir(options.envName, root)
      task.title = `Make build directory ${path.relative(root, ctx.buildDir)}`
    }),
    timed('Clone development repositories', (ctx, task) =>
      task.newListr(
        planOf(ctx).repos.map((repo) => ({
          title: repo.name,
          task: async (_c, sub) => {
            const result = await (ctx.earlyClones.get(repo.name) ?? cloneRepo(repo, (line) => (sub.output = line)))
            const warning = describeWarning(result)
            if (warning) process.stderr.write(`${warning}\n`)
            if (result.skipped) sub.skip(describeClone(result))
            else sub.title = describeClone(result)
          },
        })),
        { concurrent: true, exitOnError: true },
      ),
    ),
    // The original builds, then makes volumes, keys and manifest; none of
    // these depends on the images, so they run while the builds do.
    timed(
      `Build images (${options.build.target}); meanwhile create volumes, generate SSH keys, render manifest`,
      (ctx, task) =>
        task.newListr(
          [
            ...planOf(ctx).builds.map((build) => ({
              title: `Build ${build.ref}`,
              task: async (_c: UpContext, sub: { title: string; output: string }) => {
                const early = ctx.earlyBuilds[build.image]
                let built: boolean
                if (!early)
                  built = await sideBySide(ctx, () => buildUnlessCurrent(ctx, build, (line) => (sub.output = line)))
                else {
                  early.show = (line) => (sub.output = line)
                  for (const line of early.lines) sub.output = line
                  built = await early.done
                }
                if (!built) sub.title = `${build.ref}: up to date (same base image, build arguments and files)`
              },
              rendererOptions: { outputBar: 3 },
            })),
            ...volumeSpecs(planOf(ctx).env, volumeOwners(), planOf(ctx).use.volumes).map((spec) => ({
              title: `Create and fill ${spec.name}`,
              // `up` has checked that none of the environment's volumes exists.
              task: (_c: UpContext, sub: { output: string }) =>
                sideBySide(ctx, () => createVolume(spec, (line) => (sub.output = line), false)),
            })),
            {
              title: 'Generate SSH keys, render manifest',
              task: async (c: UpContext, sub: { title: string }) => {
                const { env, use, pod } = planOf(c)
                const which = {
                  client: use.secrets.includes('clientKey') && !usesExternalSlurm(use),
                  host: use.secrets.includes('hostKey'),
                }
                c.keys = await sideBySide(ctx, () =>
                  generateEnvironmentKeys(c.buildDir as string, options.keepBuildData, which),
                )
                if (use.secrets.includes('devLogin')) c.devLoginPassword = newDevLoginPassword()
                const text = renderManifest({
                  names: env.names,
                  ports: { proxy: c.hostPort as number, hubApi: env.hubApiHostPort },
                  images: builtImages(options.build.tag, options.build.registry),
                  users: c.users,
                  deployConfig: c.deployConfig as DeployConfig,
                  keys: c.keys,
                  cluster: c.cluster,
                  devLoginPassword: c.devLoginPassword,
                  pod,
                })
                c.manifestFile = path.join(c.buildDir as string, `jh_slurm_pod_${options.envName}.yaml`)
                await writeManifest(c.manifestFile, text)
                sub.title = `Generate SSH keys, render manifest ${path.relative(root, c.manifestFile)}`
              },
            },
          ],
          { concurrent: true, exitOnError: true },
        ),
    ),
    timed('Start pod (podman kube play)', async (ctx, task) => {
      await playManifest(ctx.manifestFile as string, (line) => (task.output = line), options.network)
      if (ctx.devLoginPassword)
        await fs.writeFile(paths.devLoginPasswordFile(options.envName), `${ctx.devLoginPassword}\n`, { mode: 0o600 })
    }),
    timed('Wait for JupyterHub', async (ctx, task) => {
      if (options.waitSeconds <= 0) return task.skip('not waiting (--wait 0)')
      const health = new URL('hub/health', hubUrl(ctx.hostPort as number)).toString()
      if (!(await waitForHttp(health, options.waitSeconds * 1000))) {
        const logs = await podman(['logs', '--tail', '15', containerName(planOf(ctx).env.names, 'jupyterhub')], {
          nothrow: true,
        })
        const tail = `${logs.stdout}${logs.stderr}`.trim()
        if (tail) process.stderr.write(`last lines of the hub log:\n${tail}\n`)
        throw new UserError(`JupyterHub did not answer at ${health} within ${options.waitSeconds} s`)
      }
    }),
  ]
}

async function rollBack(envName: string, root: string): Promise<void> {
  process.stderr.write('rolling back what this run created:\n')
  const removed = await teardown([resourceNames(envName)], (line) => process.stderr.write(`  ${line}\n`), root)
  if (removed.length === 0) process.stderr.write('  nothing had been created\n')
}

/**
 * With every clone in place the builds depend on nothing that follows: they
 * start before the task list, and the checks run beside them. Nothing they
 * make belongs to the environment, so a failed check only stops them.
 */
function startEarly(ctx: UpContext): void {
  const { repos, builds, clonesExist } = ctx.plan as UpPlan
  if (!clonesExist) return
  for (const repo of repos) {
    const look = cloneRepo(repo)
    look.catch(() => undefined) // awaited by the clone task
    ctx.earlyClones.set(repo.name, look)
  }
  for (const build of builds) {
    const early: EarlyBuild = { lines: [], done: Promise.resolve(true) }
    early.done = sideBySide(ctx, () =>
      buildUnlessCurrent(ctx, build, (line) => (early.show ? early.show(line) : early.lines.push(line))),
    )
    early.done.catch(() => undefined) // awaited by the build task, or stopped by a failed check
    ctx.earlyBuilds[build.image] = early
  }
}

export async function up(options: UpOptions): Promise<number> {
  const root = options.root ?? repoRoot
  const paths = repoPaths(root)
  let plan: UpPlan
  try {
    plan = await planUp(options, root)
  } catch (error) {
    return reportError(error)
  }
  const release = acquireLock(paths.lockFile(options.envName), 'up')
  const ctx: UpContext = { plan, mayRollBack: false, starts: [], running: [], earlyBuilds: {}, earlyClones: new Map() }
  startEarly(ctx)
  const onSignal = (signal: NodeJS.Signals) => {
    if (ctx.interrupted) return
    ctx.interrupted = signal
    process.stderr.write(`\n${signal} received: stopping\n`)
    void killRunning()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const list = new Listr<UpContext>(upTasks(options), {
    ctx,
    exitOnError: true,
    // Interrupts are ours to handle: listr2's own handler exits at once, with no rollback.
    registerSignalListeners: false,
    rendererOptions: { collapseSubtasks: false },
  })
  let code = 0
  let timings: Array<[string, number]> = []
  try {
    await list.run()
    stopIfInterrupted(ctx)
    timings = stepTimings(ctx.starts, Date.now())
  } catch (error) {
    const { interrupted } = ctx
    code = interrupted
      ? reportError(new UserError(`interrupted by ${interrupted}`, interrupted === 'SIGTERM' ? 143 : 130))
      : reportError(error)
    // What still runs beside the failed task stops before anything is removed.
    await killRunning()
    await Promise.allSettled(ctx.running)
    if (ctx.mayRollBack) {
      try {
        await rollBack(options.envName, root)
      } catch (rollbackError) {
        reportError(rollbackError, 'rollback failed')
      }
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    // Keys and manifest go whatever happened, unless asked to keep them.
    if (ctx.buildDir && (!options.keepBuildData || code !== 0))
      await fs.rm(ctx.buildDir, { recursive: true, force: true })
    else if (ctx.buildDir) markKept(ctx.buildDir)
    release()
  }
  if (code === 0) printSummary(ctx, timings, options, root)
  return code
}

function printSummary(ctx: UpContext, timings: Array<[string, number]>, options: UpOptions, root: string): void {
  const passwordFile = path.relative(root, repoPaths(root).devLoginPasswordFile(options.envName))
  const lines = [
    '',
    `Environment ${options.envName} is up: ${hubUrl(ctx.hostPort as number)}`,
    ...(ctx.devLoginPassword
      ? [`Dev login password (dummy login): ${ctx.devLoginPassword} (also in ${passwordFile}, mode 0600)`]
      : []),
    options.keepBuildData
      ? `Build data kept in ${ctx.buildDir} — it holds private keys; delete it with: rm -rf ${ctx.buildDir}`
      : 'Build data (keys, manifest) deleted; pass --keep-build-data to keep it',
    `Tear down with: npm run down -- ${options.envName}`,
    '',
    'Step timings:',
    ...timings.map(([title, ms]) => `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${title}`),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

export const cli = {
  command: 'up',
  summary:
    'Bring up an environment: check, clone the development repositories, build the images its pod runs, create its volumes, render the manifest and play it.',
  positionals: ['<env>'],
  options: {
    ...buildOptions,
    'deploy-config': deployConfigOption,
    port: portOption,
    'ssh-client-key': sshClientKeyOption,
    'ssh-known-hosts': sshKnownHostsOption,
    network: networkOption,
    'keep-build-data': {
      type: 'boolean',
      env: 'JH_SLURM_KEEP_BUILD_DATA',
      description: 'keep the build directory (SSH keys, manifest) after a successful start',
    },
    wait: {
      type: 'string',
      value: 'SECONDS',
      description: 'wait this long for the hub to answer, 0 not to wait (default 300)',
    },
  },
  notes:
    'Environment: JH_SLURM_PODMAN (podman command), JH_SLURM_BRICSAUTHENTICATOR_URL/_REF, JH_SLURM_SLURMSPAWNER_WRAPPERS_URL/_REF,\n' +
    'JUPYTERUSER(_UID), JUPYTERGROUP(_GID), SLURMUSER(_UID), SLURMGROUP(_GID). See README.md.',
} as const

runStep('up', async () => {
  const { values, positionals } = parseCommandLine(cli)
  const waitSeconds = values.wait === undefined ? 300 : Number(values.wait)
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0)
    throw new UserError(`--wait takes a number of seconds, got "${values.wait}"`, 2)
  const env = resolveEnvironment(positionals[0])
  const hostPort = values.port === undefined ? undefined : parsePort(values.port, '--port')
  return up({
    hostPort,
    envName: env.name,
    // The environment's stage unless --target says otherwise (prod: stage-prod).
    build: buildSettings(values, ['jupyterhub', 'slurm'], env.target),
    sshClientKeyFile: values['ssh-client-key'],
    sshKnownHostsFile: values['ssh-known-hosts'],
    network: values.network,
    keepBuildData: values['keep-build-data'],
    waitSeconds,
    deployConfigFile: values['deploy-config'],
  })
})
