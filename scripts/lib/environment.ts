// An environment is a pair of directories, config/<env> and volumes/<env>.
// config/<env>/launcher.yaml holds what the launcher itself needs to know
// about it (host ports, the image stage); the hub never sees it. Its pod is
// jh_slurm_pod.yaml (hub and Slurm), changed by config/<env>/pod.yaml where
// there is one (lib/pod-patch.ts).
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { UsageError, UserError } from './errors.ts'
import { DEV_TARGET, dnsName, resourceNames, type ResourceNames, TARGETS } from './names.ts'
import { readUserFile, type RepoPaths } from './paths.ts'

export interface Environment {
  name: string
  configDir: string
  volumesDir: string
  /** volumes/_shared/, laid under its volumes: its folder's, else the checkout's. */
  sharedVolumesDir: string
  devUsersFile: string
  /** Its pod, volumes, secrets and ConfigMaps. */
  names: ResourceNames
  /** Host port of the proxy by default (launcher.yaml: hostPort). */
  hostPort: number
  /** Host port of the hub API, for an environment whose jobs run elsewhere (launcher.yaml: hubApiHostPort). */
  hubApiHostPort?: number
  /** The image stage `up` and `manifest` use by default (launcher.yaml: target). */
  target: string
  /** The base pod, jh_slurm_pod.yaml. */
  podTemplate: string
  /** What the environment's pod changes of it: config/<env>/pod.yaml, when there is one (lib/pod-patch.ts). */
  podPatch?: string
}

interface LauncherSettings {
  hostPort: number
  hubApiHostPort?: number
  target: string
}

const LAUNCHER_KEYS = ['hostPort', 'hubApiHostPort', 'target']

export const LAUNCHER_FILE = 'launcher.yaml'

/** A TCP port number from a setting, or a one-line error naming where it came from. */
export function parsePort(value: unknown, source: string): number {
  const port = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`${source}: a port must be a whole number from 1 to 65535, got ${JSON.stringify(value)}`)
  }
  return port
}

function readLauncherSettings(configDir: string, envName: string): LauncherSettings {
  const file = path.join(configDir, LAUNCHER_FILE)
  if (!fs.existsSync(file))
    throw new UsageError(
      `environment ${envName} is incomplete: ${file} is missing (it needs at least hostPort: <port>)`,
    )
  let doc: unknown
  try {
    doc = YAML.parse(readUserFile(file, 'launcher settings'))
  } catch (error) {
    if (error instanceof UserError) throw error
    throw new UsageError(`${file}: not valid YAML (${(error as Error).message.split('\n')[0]})`)
  }
  const settings = (doc ?? {}) as Record<string, unknown>
  const unknown = Object.keys(settings).filter((k) => !LAUNCHER_KEYS.includes(k))
  if (unknown.length)
    throw new UsageError(
      `${file}: unknown setting ${unknown[0]}; fix or remove it (known: ${LAUNCHER_KEYS.join(', ')})`,
    )
  if (settings.hostPort === undefined) throw new UsageError(`${file}: hostPort is missing; add hostPort: <port>`)
  const target = settings.target ?? DEV_TARGET
  if (typeof target !== 'string' || !(TARGETS as readonly string[]).includes(target)) {
    throw new UsageError(`${file}: target must be one of ${TARGETS.join(', ')}, got ${JSON.stringify(target)}`)
  }
  return {
    hostPort: parsePort(settings.hostPort, `${file}: hostPort`),
    hubApiHostPort:
      settings.hubApiHostPort === undefined ? undefined : parsePort(settings.hubApiHostPort, `${file}: hubApiHostPort`),
    target,
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

const isDir = (p: string): boolean => {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

/** Environments that have both a config and a volumes directory. */
export function listEnvironments(repo: RepoPaths): string[] {
  const { config, volumes } = repo
  if (!isDir(config)) return []
  return fs
    .readdirSync(config)
    .filter((name) => NAME.test(name) && isDir(path.join(config, name)) && isDir(path.join(volumes, name)))
    .sort()
}

/** The name when it is a plain environment name; a usage error naming the known ones otherwise. */
export function validEnvironmentName(name: string | undefined, known: string[]): string {
  const choices = known.length ? known.join(', ') : 'none found'
  if (!name) throw new UsageError(`no environment given; environments: ${choices}`)
  if (!NAME.test(name))
    throw new UsageError(`invalid environment name ${JSON.stringify(name)}; environments: ${choices}`)
  return name
}

/** What is missing of an environment that has one of its two folders, or undefined. */
function halfMade(repo: RepoPaths, name: string): string | undefined {
  const dirs = [path.join(repo.config, name), path.join(repo.volumes, name)]
  const missing = dirs.filter((dir) => !isDir(dir))
  const [gone] = missing
  if (!gone || missing.length !== 1) return undefined
  const shown = (dir: string) => `${path.relative(repo.root, dir)}/`
  return `environment ${name} is incomplete: ${shown(gone)} is missing (an environment needs both ${dirs.map(shown).join(' and ')})`
}

/**
 * Checks the name before touching any file: only plain names of existing
 * environments pass, so nothing can reach outside config/ or volumes/.
 */
export function resolveEnvironment(given: string | undefined, repo: RepoPaths): Environment {
  const known = listEnvironments(repo)
  const choices = known.length ? known.join(', ') : 'none found'
  const name = validEnvironmentName(given, known)
  if (!known.includes(name)) {
    throw new UsageError(halfMade(repo, name) ?? `unknown environment "${name}"; environments: ${choices}`)
  }
  const twin = known.find((other) => other !== name && dnsName(other) === dnsName(name))
  if (twin) throw new UsageError(`environments "${name}" and "${twin}" would share resource names; rename one`)
  const { config, volumes, podTemplate } = repo
  const configDir = path.join(config, name)
  const ownPod = path.join(configDir, 'pod.yaml')
  return {
    name,
    podTemplate,
    podPatch: fs.existsSync(ownPod) ? ownPod : undefined,
    configDir,
    volumesDir: path.join(volumes, name),
    sharedVolumesDir: repo.sharedVolumes,
    devUsersFile: path.join(configDir, 'dev_users'),
    names: resourceNames(name),
    ...readLauncherSettings(configDir, name),
  }
}
