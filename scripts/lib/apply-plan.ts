// What `apply` will do to a running environment, worked out before anything
// runs: the record of the last up or apply, the present snapshot, and the
// actions their differences call for.
import { type AppliedRecord, readRecord } from './applied.ts'
import type { DeployConfig, DeployConfigOverlay } from './deploy-config.ts'
import { environmentSettings } from './nodes.ts'
import { checkSameIssuerKind, podForIssuer } from './dev-issuer.ts'
import { type Environment, resolveEnvironment } from './environment.ts'
import { UserError } from './errors.ts'
import { type BuildSettings, buildSettingsFromVariables, type ImageBuild, planImageBuild } from './images.ts'
import { DEV_TARGET, IMAGE_KEYS, type ImageKey } from './names.ts'
import type { RepoPaths } from './paths.ts'
import { requireUp, type RunningPod } from './running.ts'
import { type Changes, compareSnapshots, type Snapshot, takeSnapshot } from './snapshot.ts'
import { type DevRepo, devRepos } from './sources.ts'
import { readEnvironmentPod, type TemplateUse, templateUse } from './template.ts'

export interface ApplyOptions {
  envName: string
  /** Deploy settings laid over the environment's (default: what up was given). */
  deployConfig?: DeployConfigOverlay
  /** How long to wait for the hub after it restarts. */
  waitSeconds: number
}

export interface ApplyPlan {
  env: Environment
  template: Record<string, unknown>
  use: TemplateUse
  running: RunningPod
  record?: AppliedRecord
  build: BuildSettings
  builds: ImageBuild[]
  repos: DevRepo[]
  deployConfig?: DeployConfigOverlay
  /** The deploy settings applied: the environment's with the overlay laid over them. */
  settings: DeployConfig
  now: Snapshot
  /** Undefined without a record: then everything but the images is applied. */
  changes?: Changes
  actions: Actions
}

export interface Actions {
  rebuild: ImageKey[]
  copyHubFiles: boolean
  removeHubFiles: string[]
  /** Dev users to create in the Slurm container; those removed from dev_users are only reported. */
  newUsers: string[]
  removedUsers: string[]
  replace: { jupyterhub: boolean; slurm: boolean }
  restartHub: boolean
  /** Clones in use at once, with nothing to restart (the wrappers run anew on every call). */
  live: string[]
}

/** The clones `up` mounts into the containers: those of the images built at stage-dev. */
export function mountedRepos(build: BuildSettings, builds: ImageBuild[], repo: RepoPaths): DevRepo[] {
  if (build.target !== DEV_TARGET) return []
  const argsOf = (image: ImageKey) => (builds.find((b) => b.image === image) ?? planImageBuild(image, build, repo)).args
  return devRepos(process.env, repo, argsOf).filter((r) => builds.some((b) => b.image === r.image))
}

/** Build settings from the environment variables alone (JH_SLURM_HUB_ARGS_FILE, ...), at the environment's stage. */
const defaultBuild = (env: Environment): BuildSettings =>
  buildSettingsFromVariables(process.env, IMAGE_KEYS, env.target)

/** Deploy settings the Slurm container reads when it starts. */
const startsSlurm = (key: string): boolean => key === 'slurmGpusPerNode' || key === 'slurmProjectLimits'

export function decideActions(
  changes: Changes | undefined,
  now: Snapshot,
  use: TemplateUse,
  repos: DevRepo[],
): Actions {
  const imageOf = (name: string) => repos.find((r) => r.name === name)?.image
  if (!changes) {
    return {
      rebuild: [],
      copyHubFiles: true,
      removeHubFiles: [],
      newUsers: now.devUsers ?? [],
      removedUsers: [],
      replace: { jupyterhub: true, slurm: false },
      restartHub: true,
      live: [],
    }
  }
  const rebuild = [...new Set([...changes.images, ...changes.packaging.flatMap((n) => imageOf(n) ?? [])])]
  const envChanged = Boolean(changes.devUsers) || changes.deployConfig.length > 0
  const hubReadsEnv = use.configMaps.length > 0
  const replaceHub = rebuild.includes('jupyterhub') || (envChanged && hubReadsEnv)
  const hubClone = changes.clones.some((n) => imageOf(n) === 'jupyterhub')
  const copyHubFiles = changes.hubFiles.changed.length > 0 || changes.hubFiles.removed.length > 0
  return {
    rebuild,
    copyHubFiles,
    removeHubFiles: changes.hubFiles.removed,
    newUsers: use.images.includes('slurm') ? (changes.devUsers?.added ?? []) : [],
    removedUsers: changes.devUsers?.removed ?? [],
    // The Slurm node's GPUs and the projects' limits are set up when its
    // container starts (configure-gpus, sync-slurm-accounts).
    replace: { jupyterhub: replaceHub, slurm: rebuild.includes('slurm') || changes.deployConfig.some(startsSlurm) },
    restartHub: replaceHub || hubClone || copyHubFiles,
    live: changes.clones.filter((n) => imageOf(n) !== 'jupyterhub' && !rebuild.includes(imageOf(n) as ImageKey)),
  }
}

/** The number of nodes changes with down and up: apply would have to make or remove pods it does not own the plan of. */
export function refuseNodeCountChange(env: Environment, changes?: Changes, before?: Snapshot, now?: Snapshot): void {
  if (!changes?.deployConfig.includes('slurmNodes')) return
  const [was, is] = [before?.deployConfig.slurmNodes ?? 'unset', now?.deployConfig.slurmNodes ?? 'unset']
  throw new UserError(
    `the deploy setting slurmNodes changed (${was} to ${is}): Slurm's nodes are made by up; run \`jh-slurm-pod down ${env.name}\` and \`jh-slurm-pod up ${env.name}\` (apply changed nothing)`,
  )
}

export async function planApply(options: ApplyOptions, repo: RepoPaths): Promise<ApplyPlan> {
  const env = resolveEnvironment(options.envName, repo)
  const [running, rawTemplate] = await Promise.all([requireUp(env), readEnvironmentPod(env)])
  const record = readRecord(repo, env.name, running.id)
  const deployConfig = options.deployConfig ?? record?.deployConfig
  // The pod as these settings run it (dev_realauth: with or without its development issuer).
  const settings = await environmentSettings(env, deployConfig)
  const template = podForIssuer(rawTemplate, settings, env.name)
  await checkSameIssuerKind(env.names, template)
  const use = templateUse(template)
  const build = record?.build ?? defaultBuild(env)
  const builds = build.images.filter((i) => use.images.includes(i)).map((i) => planImageBuild(i, build, repo))
  const repos = mountedRepos(build, builds, repo)
  const readsDevUsers = use.configMaps.includes('devUsers')
  const now = await takeSnapshot({ env, repos, builds, readsDevUsers, settings, repo })
  const changes = record ? compareSnapshots(record.snapshot, now) : undefined
  refuseNodeCountChange(env, changes, record?.snapshot, now)
  const actions = decideActions(changes, now, use, repos)
  return { env, template, use, running, record, build, builds, repos, deployConfig, settings, now, changes, actions }
}
