// The plan of an `up`, worked out once before anything runs: the environment
// and what its pod uses, the builds and clones, the volumes, ports, deploy
// settings, users and cluster files. Nothing changes it afterwards.
import { existsSync } from 'node:fs'
import type { ClusterFiles } from './cluster-access.ts'
import type { DeployConfigOverlay } from './deploy-config.ts'
import { withDevMounts } from './dev-mounts.ts'
import type { NadirFiles } from './nadir.ts'
import { resolveEnvironment } from './environment.ts'
import { UsageError } from './errors.ts'
import { type BuildSettings, type ImageBuild, planImageBuild } from './images.ts'
import { planRender, type RenderPlan } from './manifest-input.ts'
import { DEV_TARGET } from './names.ts'
import { volumeOwners } from './owners.ts'
import type { RepoPaths } from './paths.ts'
import { type DevRepo, devRepos } from './sources.ts'
import { type VolumeSpec, volumeSpecs } from './volumes.ts'

export interface UpOptions {
  envName: string
  build: BuildSettings
  keepBuildData: boolean
  /** Seconds to wait for the hub; 0 not to wait. */
  waitSeconds: number
  /** Deploy settings laid over config/<env>/deploy-config.yaml. */
  deployConfig?: DeployConfigOverlay
  /** Host port of the hub instead of the environment's own. */
  hostPort?: number
  /** For an environment whose Slurm is elsewhere: the hub's key and the login node's host key line. */
  clusterFiles: ClusterFiles
  /** For an environment reached through a Nadir tunnel: the client's key and the server's address. */
  nadirFiles?: NadirFiles
  /** A podman network for the pod (one that reaches the cluster, say). */
  network?: string
}

export interface UpPlan extends RenderPlan {
  options: UpOptions
  /** The image builds: those of the images the pod runs. */
  builds: ImageBuild[]
  /** The repositories to clone: those of the images built at stage-dev. */
  repos: DevRepo[]
  /** Whether every clone is there already (then git is not needed). */
  clonesExist: boolean
  /** The volumes the pod claims. */
  volumes: VolumeSpec[]
  /** The hub API port to check, where the pod publishes it. */
  hubApiPort?: number
}

export async function planUp(options: UpOptions, repo: RepoPaths): Promise<UpPlan> {
  const env = resolveEnvironment(options.envName, repo)
  const { build } = options
  const render = await planRender(
    env,
    { ...options, tag: build.tag, registry: build.registry, clusterFiles: options.clusterFiles },
    repo,
    'up',
  )
  const { use } = render
  if (render.server && options.network)
    throw new UsageError(
      `${env.name} puts its pod and its stand-in Nadir server on a network of its own; --network cannot be given`,
    )
  if (render.nodes.length && options.network)
    throw new UsageError(
      `${env.name} puts its pod and its ${render.nodes.length} Slurm nodes on a network of its own; --network cannot be given (or set slurmNodes: 0)`,
    )
  const builds = build.images.filter((image) => use.images.includes(image)).map((i) => planImageBuild(i, build, repo))
  // The clones follow the refs of the build (pins, overlays, --*-build-arg).
  const argsOf = (image: (typeof build.images)[number]) =>
    (builds.find((b) => b.image === image) ?? planImageBuild(image, build, repo)).args
  const repos =
    build.target === DEV_TARGET
      ? devRepos(process.env, repo, argsOf).filter((r) => builds.some((b) => b.image === r.image))
      : []
  return {
    ...render,
    // At stage-dev the clones are mounted where the editable installs point (docs/apply.md).
    pod: withDevMounts(render.pod, repos),
    options,
    builds,
    repos,
    clonesExist: repos.every((r) => existsSync(r.dest)),
    volumes: volumeSpecs(env, volumeOwners(), use.volumes),
    hubApiPort: use.publishesHubApi ? env.hubApiHostPort : undefined,
  }
}
