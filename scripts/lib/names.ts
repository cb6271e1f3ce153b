// Every resource name the environment uses, in one place. Only one
// environment can be up at a time because these names are fixed.

export const POD = 'jupyterhub-slurm'
export const CONFIG_MAP = 'dev-user-config'
export const DEPLOY_CONFIG_MAP = 'deploy-config'
export const DEV_USERS_KEY = 'DEV_USER_CONFIG_UNIX_USERNAMES'

export const VOLUMES = {
  jupyterhub: 'jupyterhub_root',
  slurm: 'slurm_root',
} as const

export const SECRETS = {
  clientKey: 'jupyterhub-slurm-ssh-client-key',
  hostKey: 'jupyterhub-slurm-ssh-host-key',
  devLogin: 'jupyterhub-dev-login',
} as const

export type ImageKey = 'jupyterhub' | 'slurm'

/** Image names; each is built from the repository directory of the same name. */
export const IMAGES: Record<ImageKey, string> = {
  jupyterhub: 'brics_jupyterhub',
  slurm: 'brics_slurm',
}

export const DEV_TAG = 'dev-latest'
export const DEV_TARGET = 'stage-dev'
export const TARGETS = ['stage-base', 'stage-dev', 'stage-prod'] as const

export const HUB_URL = 'http://127.0.0.1:8000/jupyter/'
export const HUB_PORT = 8000
export const HUB_HOST = '127.0.0.1'

/** The containers `podman kube play` creates are named <pod>-<container>. */
export const containerName = (container: 'jupyterhub' | 'slurm'): string => `${POD}-${container}`

export const imageRef = (image: ImageKey, tag: string = DEV_TAG, registry = 'localhost'): string =>
  `${registry.replace(/\/+$/, '')}/${IMAGES[image]}:${tag}`
