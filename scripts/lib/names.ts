// Every resource name the launcher uses, in one place. Each environment has
// its own pod, volumes, secrets and ConfigMaps, named after it in the DNS-1123
// form Kubernetes requires (dev_dummyauth -> dev-dummyauth), so several
// environments can be up at once.

export const DEV_USERS_KEY = 'DEV_USER_CONFIG_UNIX_USERNAMES'

/** Pod labels: which environment a pod belongs to and the host port it publishes. */
export const ENV_LABEL = 'jh-slurm-pod/environment'
export const PORT_LABEL = 'jh-slurm-pod/host-port'
/** The hub's URL prefix (lib/base-url.ts). */
export const BASE_URL_LABEL = 'jh-slurm-pod/base-url'

/** Directories under volumes/<env>/ holding each volume's initial contents. */
export const VOLUME_DIRS = {
  jupyterhub: 'jupyterhub_root',
  slurm: 'slurm_root',
  /** Slurm's accounting database (the accounting container's MariaDB) and slurmdbd's log. */
  accounting: 'accounting_root',
  /** The users' homes (/home of the login node and of every compute node): empty at first, made by the Slurm image. */
  homes: 'homes_root',
} as const

export type VolumeKey = keyof typeof VOLUME_DIRS
export type SecretKey =
  | 'clientKey'
  | 'hostKey'
  | 'knownHosts'
  | 'devLogin'
  | 'munge'
  | 'proxyToken'
  | 'nadirKey'
  | 'nadirConfig'
export type ConfigMapKey = 'devUsers' | 'deployConfig' | 'podFacts'

/**
 * The names pod.yaml (jh_slurm_pod.yaml) uses for what the launcher makes;
 * rendering replaces each with the environment's own name.
 */
export const TEMPLATE_NAMES = {
  volumes: {
    jupyterhub: 'jupyterhub-root',
    slurm: 'slurm-root',
    accounting: 'slurm-accounting-root',
    homes: 'slurm-homes',
  } satisfies Record<VolumeKey, string>,
  secrets: {
    clientKey: 'ssh-client-key',
    hostKey: 'ssh-host-key',
    knownHosts: 'ssh-known-hosts',
    devLogin: 'dev-login',
    munge: 'munge-key',
    proxyToken: 'proxy-auth-token',
    nadirKey: 'ssh-nadir-key',
    nadirConfig: 'nadir-config',
  } satisfies Record<SecretKey, string>,
  configMaps: {
    devUsers: 'dev-user-config',
    deployConfig: 'deploy-config',
    podFacts: 'pod-facts',
  } satisfies Record<ConfigMapKey, string>,
}

export interface ResourceNames {
  /** The environment, or LEGACY for resources made before names were per environment. */
  env: string
  pod: string
  volumes: Record<VolumeKey, string>
  secrets: Record<SecretKey, string>
  configMaps: Record<ConfigMapKey, string>
}

/** A DNS-1123 label (lower case letters, digits and '-', at most 63). */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/

/** The DNS-1123 form of an environment name. */
export const dnsName = (env: string): string => env.toLowerCase().replace(/_/g, '-')

export function resourceNames(env: string): ResourceNames {
  const id = dnsName(env)
  return {
    env,
    pod: `jupyterhub-slurm-${id}`,
    volumes: {
      jupyterhub: `jupyterhub-root-${id}`,
      slurm: `slurm-root-${id}`,
      accounting: `slurm-accounting-root-${id}`,
      homes: `slurm-homes-${id}`,
    },
    secrets: {
      clientKey: `jupyterhub-slurm-ssh-client-key-${id}`,
      hostKey: `jupyterhub-slurm-ssh-host-key-${id}`,
      knownHosts: `jupyterhub-slurm-ssh-known-hosts-${id}`,
      devLogin: `jupyterhub-slurm-dev-login-${id}`,
      munge: `jupyterhub-slurm-munge-key-${id}`,
      proxyToken: `jupyterhub-slurm-proxy-auth-token-${id}`,
      nadirKey: `jupyterhub-slurm-ssh-nadir-key-${id}`,
      nadirConfig: `jupyterhub-slurm-nadir-config-${id}`,
    },
    configMaps: { devUsers: `dev-user-config-${id}`, deployConfig: `deploy-config-${id}`, podFacts: `pod-facts-${id}` },
  }
}

/**
 * dev_realauth_nadir's stand-in Nadir server (docs/nadir.md): a pod of its
 * own, and the podman network it shares with the environment's pod.
 */
export const nadirServerPodName = (names: ResourceNames): string => `nadir-server-${dnsName(names.env)}`
export const networkName = (names: ResourceNames): string => `jupyterhub-slurm-${dnsName(names.env)}`

/** What versions before per-environment names made, whatever the environment. */
export const LEGACY = '(old fixed names)'
export const LEGACY_NAMES: ResourceNames = {
  env: LEGACY,
  pod: 'jupyterhub-slurm',
  // (No accounting volume then; named for completeness.)
  volumes: {
    jupyterhub: 'jupyterhub_root',
    slurm: 'slurm_root',
    accounting: 'slurm_accounting_root',
    homes: 'slurm_homes',
  },
  secrets: {
    clientKey: 'jupyterhub-slurm-ssh-client-key',
    hostKey: 'jupyterhub-slurm-ssh-host-key',
    // (No such secret then; named for completeness.)
    knownHosts: 'jupyterhub-slurm-ssh-known-hosts',
    devLogin: 'jupyterhub-dev-login',
    // (No such secrets then either.)
    munge: 'jupyterhub-slurm-munge-key',
    proxyToken: 'jupyterhub-slurm-proxy-auth-token',
    nadirKey: 'jupyterhub-slurm-ssh-nadir-key',
    nadirConfig: 'jupyterhub-slurm-nadir-config',
  },
  configMaps: { devUsers: 'dev-user-config', deployConfig: 'deploy-config', podFacts: 'pod-facts' },
}

export type ImageKey = 'jupyterhub' | 'slurm' | 'nadir-client'

/** Image names; each is built from the repository directory of the same name. */
export const IMAGES: Record<ImageKey, string> = {
  jupyterhub: 'brics_jupyterhub',
  slurm: 'brics_slurm',
  /** The Nadir tunnel client (upstream names its image so too). */
  'nadir-client': 'nadir-client',
}

/** Every image, in the order they are listed and built. */
export const IMAGE_KEYS = Object.keys(IMAGES) as ImageKey[]

export const DEV_TAG = 'dev-latest'
export const DEV_TARGET = 'stage-dev'
/** The tag images of a stage get by default: stage-dev -> dev-latest, stage-prod -> prod-latest. */
export const defaultTag = (target: string): string => `${target.replace(/^stage-/, '')}-latest`
export const TARGETS = ['stage-base', 'stage-dev', 'stage-prod'] as const

/** Where the hub is published on the host; the port and the prefix (deploy setting baseUrl) are the environment's. */
export const HUB_HOST = '127.0.0.1'
export const DEFAULT_BASE_URL = '/jupyter/'
export const hubUrl = (port: number, baseUrl = DEFAULT_BASE_URL): string => `http://${HUB_HOST}:${port}${baseUrl}`

/** The file the Slurm container makes once its users, their accounts and sshd are ready (start-slurm-pod). */
export const SLURM_READY = '/run/slurm-pod/ready'

/** The containers `podman kube play` creates are named <pod>-<container> (the template's container name). */
export const containerName = (names: ResourceNames, container: string): string => `${names.pod}-${container}`

export const imageRef = (image: ImageKey, tag: string = DEV_TAG, registry = 'localhost'): string =>
  `${registry.replace(/\/+$/, '')}/${IMAGES[image]}:${tag}`
