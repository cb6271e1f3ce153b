// Deploy settings: what differs between deployments of the same images
// (issuer URL, platform name, ...). Each environment commits its settings in
// config/<env>/deploy-config.yaml; a site or a test lays its own file over
// them. They reach the containers as the ConfigMap `deploy-config`, one
// environment variable DEPLOY_CONFIG_<UPPER_SNAKE> per key, which the hub
// configuration reads.
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { UsageError } from './errors.ts'
import { checkBaseUrl } from './base-url.ts'
import { DEFAULT_BASE_URL } from './names.ts'
import { readUserFile } from './paths.ts'

/** Every key an environment may set, with what it means (shown in the README and errors). */
export const DEPLOY_KEYS = {
  logLevel: 'JupyterHub log level: DEBUG, INFO, WARNING, ...',
  sshHostname: 'host name of the Slurm login node the hub runs the slurmspawner wrappers on over SSH',
  slurmSpawnerWrappersBin: 'directory of the slurmspawner wrappers (slurmspawner_sbatch, ...) on the login node',
  jupyterUserEnvDir: 'the Python environment (venv or conda env) jobs start the Jupyter server from',
  jupyterDataDir: 'Jupyter data directory on the cluster, put first on JUPYTER_PATH',
  hubConnectUrl: 'URL at which jobs on the cluster reach the hub API',
  oidcServer:
    'OIDC issuer URL: the tokens\' "iss" claim; its /.well-known/openid-configuration is fetched. dev-issuer: the development issuer in the pod (dev_realauth)',
  bricsPlatform: 'platform name whose resources in the "projects" claim grant access',
  jwtAudience: 'expected "aud" claim of the tokens',
  jwtLeeway: 'seconds of clock skew allowed when checking "exp" and "iat"',
  baseUrl: "URL prefix of the hub and the users' servers, e.g. /jupyter/",
  announcement: 'HTML shown at the top of the spawn page (planned maintenance, say); empty for none',
  slurmNodes:
    'compute nodes of Slurm in the pod, each a pod of its own on the environment network (0 to 8; 0: jobs run in the Slurm container)',
  slurmGpusPerNode: 'GPUs each Slurm compute node in the pod advertises (gres gpu; 0 for none)',
  slurmProjectLimits:
    "limits of each project's Slurm account in the pod, as a mapping: {<project>: {gpus: <N>}}; a project not named has none",
  devIssuerOtherProjects:
    'development issuer: <USER>.<PROJECT> entries (blank-separated) whose project has a resource on another platform only',
  devIssuerTokenLifetime: 'development issuer: seconds an ID token is valid (the login front renews it)',
  devIssuerSessionLifetime: 'development issuer: seconds a login lasts; then the login form comes back',
  devIssuerAdmins:
    'development issuer: <USER>s (blank-separated) whose tokens put them in the group brics-admins (the "groups" claim)',
} as const satisfies Record<string, string>

/** A deploy setting's name: reading one that is not in DEPLOY_KEYS is a compile error. */
export type DeployKey = keyof typeof DEPLOY_KEYS

export type DeployConfig = Map<DeployKey, string>

export const isDeployKey = (key: string): key is DeployKey => Object.hasOwn(DEPLOY_KEYS, key)

export const FILE_NAME = 'deploy-config.yaml'

/** DEPLOY_CONFIG_<UPPER_SNAKE>: the environment variable a key becomes. */
export const envVarOf = (key: DeployKey): string =>
  `DEPLOY_CONFIG_${key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()}`

export function parseDeployConfig(text: string, source: string): DeployConfig {
  let doc: unknown
  try {
    doc = YAML.parse(text)
  } catch (error) {
    throw new UsageError(`${source}: not valid YAML (${(error as Error).message.split('\n')[0]}); fix the file`)
  }
  if (doc === null || doc === undefined) return new Map()
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new UsageError(`${source}: expected a mapping of settings (key: value lines)`)
  const config: DeployConfig = new Map()
  for (const [key, value] of Object.entries(doc)) {
    if (!isDeployKey(key))
      throw new UsageError(
        `${source}: unknown deploy setting ${key}; fix or remove it (known: ${Object.keys(DEPLOY_KEYS).join(', ')})`,
      )
    if (key === 'slurmProjectLimits') {
      config.set(key, projectLimitsValue(value, source))
      continue
    }
    if (!['string', 'number', 'boolean'].includes(typeof value))
      throw new UsageError(`${source}: ${key} must be a string, a number or true/false`)
    config.set(key, checkValue(key, String(value), source))
  }
  return config
}

/** A project's name, as in dev_users (lib/dev-users.ts). */
const PROJECT = /^[a-z_][a-z0-9_-]*$/
/** What each project may be limited in; the Slurm side (sync-slurm-accounts) and the hub read the same form. */
const LIMITS = ['gpus'] as const

/**
 * slurmProjectLimits, a mapping {<project>: {gpus: N}}, as the one line its
 * readers take: `<project>:gpus=<N>` entries, blank-separated, in name order
 * (the Slurm container's sync-slurm-accounts, the hub's spawn form).
 */
export function projectLimitsValue(value: unknown, source: string): string {
  const wrong = (what: string) =>
    new UsageError(`${source}: slurmProjectLimits ${what} (expected e.g. {project2: {gpus: 2}})`)
  if (value === null || value === undefined || value === '') return ''
  if (typeof value !== 'object' || Array.isArray(value)) throw wrong('must be a mapping of projects')
  return Object.entries(value)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([project, limits]) => {
      if (!PROJECT.test(project)) throw wrong(`names '${project}', which is not a project name`)
      if (typeof limits !== 'object' || limits === null || Array.isArray(limits))
        throw wrong(`of ${project} must be a mapping of limits`)
      const entries = Object.entries(limits)
      const unknown = entries.find(([name]) => !(LIMITS as readonly string[]).includes(name))
      if (unknown) throw wrong(`of ${project}: unknown limit ${unknown[0]} (known: ${LIMITS.join(', ')})`)
      const gpus = (limits as { gpus?: unknown }).gpus
      if (!Number.isInteger(gpus) || (gpus as number) < 0 || (gpus as number) > 1024)
        throw wrong(`of ${project}: gpus must be a whole number from 0 to 1024`)
      return `${project}:gpus=${gpus}`
    })
    .join(' ')
}

/** A whole number setting from 0 to `max`, written without leading zeros. */
const wholeNumber =
  (key: DeployKey, max: number) =>
  (value: string): { value: string } | { error: string } =>
    /^\d{1,3}$/.test(value) && Number(value) <= max
      ? { value: String(Number(value)) }
      : { error: `${key} must be a whole number from 0 to ${max}, not '${value}'` }

/** The most compute nodes an environment may have (slurmNodes). */
export const MAX_SLURM_NODES = 8

/** Settings the launcher reads too are checked here, before anything runs. */
const CHECKS: Partial<Record<DeployKey, (value: string) => { value: string } | { error: string }>> = {
  baseUrl: checkBaseUrl,
  slurmNodes: wholeNumber('slurmNodes', MAX_SLURM_NODES),
  slurmGpusPerNode: wholeNumber('slurmGpusPerNode', 64),
}

/**
 * The defaults of the settings of Slurm in the pod, written once: every
 * environment whose pod runs Slurm has them unless its files say otherwise
 * (lib/nodes.ts fills them in; hubConnectUrl follows from slurmNodes there).
 */
export const POD_SLURM_DEFAULTS = { slurmNodes: '2', slurmGpusPerNode: '4' } as const satisfies Partial<
  Record<DeployKey, string>
>

function checkValue(key: DeployKey, value: string, source: string): string {
  const checked = CHECKS[key]?.(value) ?? { value }
  if ('error' in checked) throw new UsageError(`${source}: ${checked.error}`)
  return checked.value
}

/** Reads a settings file; `givenWith` names the option or variable it came from, for the messages. */
export function readDeployConfig(file: string, givenWith?: string): DeployConfig {
  const source = givenWith ? `${file} (${givenWith})` : file
  return parseDeployConfig(readUserFile(file, `deploy settings${givenWith ? ` given with ${givenWith}` : ''}`), source)
}

/** A site's settings file and the option or variable that named it. */
export interface DeployConfigOverlay {
  file: string
  givenWith?: string
}

export const deployConfigOverlay = (file: string | undefined, givenWith?: string): DeployConfigOverlay | undefined =>
  file === undefined ? undefined : { file: path.resolve(file), givenWith }

/**
 * The environment's committed settings with a site's file laid over them.
 * The site file may only set keys the environment uses: a key it does not
 * would be ignored by the hub, so it is more likely a mistake.
 */
export function resolveDeployConfig(
  configDir: string,
  overlay?: DeployConfigOverlay,
  defaults: Partial<Record<DeployKey, string>> = {},
): DeployConfig {
  const own = path.join(configDir, FILE_NAME)
  const config: DeployConfig = fs.existsSync(own) ? readDeployConfig(own) : new Map()
  // The pod's programs take the URL prefix from here alone, so it is always set.
  if (!config.has('baseUrl')) config.set('baseUrl', DEFAULT_BASE_URL)
  // The environment's defaults (those of Slurm in the pod): settings a site file may change.
  for (const [key, value] of Object.entries(defaults) as Array<[DeployKey, string]>)
    if (!config.has(key)) config.set(key, value)
  if (!overlay) return config
  for (const [key, value] of readDeployConfig(overlay.file, overlay.givenWith)) {
    if (!config.has(key)) {
      const used = [...config.keys()].join(', ') || 'none'
      const source = overlay.givenWith ? `${overlay.file} (${overlay.givenWith})` : overlay.file
      throw new UsageError(
        `${source}: ${key} is not a setting of this environment; remove it (the environment uses: ${used})`,
      )
    }
    config.set(key, value)
  }
  return config
}

/** Host names reserved for examples (RFC 2606): a value naming one was never set for a real site. */
const EXAMPLE_HOST = /(^|[/.@\s])example\.(org|com|net)\b|\.example\b/

/** The settings that still hold example values, as key=value. */
export const exampleSettings = (config: DeployConfig): string[] =>
  [...config].filter(([, value]) => EXAMPLE_HOST.test(value)).map(([key, value]) => `${key}=${value}`)

/** The ConfigMap data: one environment variable per setting. */
export const deployConfigData = (config: DeployConfig): Record<string, string> =>
  Object.fromEntries([...config].map(([key, value]) => [envVarOf(key), value]))
