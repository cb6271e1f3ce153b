// Step: render the combined manifest of an environment: the ConfigMaps of dev
// users and deploy settings, the Secrets (SSH keys, dev login password) and
// the Pod of jh_slurm_pod.yaml, each under the environment's own name.
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { parseCommandLine } from './lib/cli.ts'
import { readDevUsers, devUsersValue, type DevUser } from './lib/dev-users.ts'
import { parsePort, resolveEnvironment } from './lib/environment.ts'
import { UserError } from './lib/errors.ts'
import { runStep } from './lib/main.ts'
import { type DeployConfig, deployConfigData, resolveDeployConfig } from './lib/deploy-config.ts'
import { DEV_TAG, DEV_USERS_KEY, ENV_LABEL, IMAGES, imageRef, type ImageKey, PORT_LABEL, type ResourceNames, TEMPLATE_NAMES } from './lib/names.ts'
import { buildOptions } from './build-images.ts'
import { repoPaths, repoRoot } from './lib/paths.ts'
import { registerSecret } from './lib/redact.ts'
import { type EnvironmentKeys, generateEnvironmentKeys, type KeyPair } from './keygen.ts'

type Doc = Record<string, unknown>

const LOCALHOST = 'localhost,127.0.0.1,::1'

const configMap = (name: string, data: Record<string, string>): Doc => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  immutable: true,
  data,
})

export const configMapDoc = (name: string, users: DevUser[]): Doc => configMap(name, { [DEV_USERS_KEY]: devUsersValue(users) })

export const deployConfigDoc = (name: string, config: DeployConfig): Doc => configMap(name, deployConfigData(config))

/** The port the hub listens on inside the pod; the host side is the environment's. */
export const HUB_CONTAINER_PORT = 8000

interface PodSpec {
  containers?: Array<{
    name: string
    image?: string
    envFrom?: Array<{ configMapRef?: { name: string } }>
    ports?: Array<{ containerPort: number; hostPort?: number }>
  }>
  volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string } }>
}

/** Looks up what a template name stands for; a name the launcher does not make is an error. */
function rename<K extends string>(kind: string, templateNames: Record<K, string>, envNames: Record<K, string>, name: string): string {
  const key = (Object.keys(templateNames) as K[]).find((k) => templateNames[k] === name)
  if (!key) {
    const known = Object.values(templateNames).join(', ')
    throw new UserError(`the pod template refers to ${kind} "${name}", which the launcher does not make (it makes: ${known})`)
  }
  return envNames[key]
}

/** Image references of the containers named after an image (jupyterhub, slurm). */
export type ContainerImages = Partial<Record<ImageKey, string>>

/** The images built with `tag` under `registry` (as build-images names them). */
export const builtImages = (tag: string = DEV_TAG, registry?: string): ContainerImages => ({
  jupyterhub: imageRef('jupyterhub', tag, registry),
  slurm: imageRef('slurm', tag, registry),
})

/**
 * The Pod of the template under the environment's names: its own pod name
 * and labels, claims, secrets and ConfigMaps, the hub on `hostPort`, and
 * each container on the image that was built for it.
 */
export function podForEnvironment(template: Doc, names: ResourceNames, hostPort: number, images: ContainerImages = builtImages()): Doc {
  const pod = structuredClone(template) as Doc & { metadata: { name?: string; labels?: Record<string, string> }; spec: PodSpec }
  pod.metadata = { ...pod.metadata, name: names.pod, labels: { ...pod.metadata?.labels, [ENV_LABEL]: names.env, [PORT_LABEL]: String(hostPort) } }
  for (const container of pod.spec.containers ?? []) {
    const image = container.name in IMAGES ? images[container.name as ImageKey] : undefined
    if (image) container.image = image
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef) source.configMapRef.name = rename('ConfigMap', TEMPLATE_NAMES.configMaps, names.configMaps, source.configMapRef.name)
    }
    for (const port of container.ports ?? []) {
      if (port.containerPort === HUB_CONTAINER_PORT && port.hostPort !== undefined) port.hostPort = hostPort
    }
  }
  for (const volume of pod.spec.volumes ?? []) {
    const claim = volume.persistentVolumeClaim
    if (claim) claim.claimName = rename('volume claim', TEMPLATE_NAMES.volumes, names.volumes, claim.claimName)
    if (volume.secret) volume.secret.secretName = rename('Secret', TEMPLATE_NAMES.secrets, names.secrets, volume.secret.secretName)
  }
  return pod
}

/** The four files each key Secret provides to the containers. */
export function keyFiles(pair: KeyPair): Record<string, string> {
  return {
    ssh_key: pair.privateKey,
    'ssh_key.pub': `${pair.publicKey}\n`,
    localhost_known_hosts: `${LOCALHOST} ${pair.publicKey}\n`,
    localhost_authorized_keys: `from="${LOCALHOST}" ${pair.publicKey}\n`,
  }
}

export function secretDoc(name: string, stringData: Record<string, string>): Doc {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, immutable: true, type: 'Opaque', stringData }
}

export const portOption = {
  type: 'string',
  value: 'PORT',
  env: 'JH_SLURM_HOST_PORT',
  description: 'publish the hub on 127.0.0.1:PORT (default: hostPort in config/<env>/launcher.yaml)',
} as const

export const deployConfigOption = {
  type: 'string',
  value: 'FILE',
  env: 'JH_SLURM_DEPLOY_CONFIG',
  description: 'YAML file of deploy settings laid over config/<env>/deploy-config.yaml',
} as const

export function newDevLoginPassword(): string {
  const password = crypto.randomBytes(18).toString('base64url')
  registerSecret(password)
  return password
}

export async function readPodTemplate(file: string = repoPaths().podTemplate): Promise<Doc> {
  const doc = YAML.parse(await fs.readFile(file, 'utf8')) as Doc
  if (doc?.kind !== 'Pod') throw new UserError(`${file} does not hold a Pod document`)
  return doc
}

export interface ManifestInput {
  names: ResourceNames
  hostPort: number
  /** Default: the dev images, localhost/<image>:dev-latest. */
  images?: ContainerImages
  users: DevUser[]
  deployConfig: DeployConfig
  keys: EnvironmentKeys
  devLoginPassword: string
  pod: Doc
}

export function renderManifest({ names, hostPort, images, users, deployConfig, keys, devLoginPassword, pod }: ManifestInput): string {
  const docs = [
    configMapDoc(names.configMaps.devUsers, users),
    deployConfigDoc(names.configMaps.deployConfig, deployConfig),
    secretDoc(names.secrets.clientKey, keyFiles(keys.client)),
    secretDoc(names.secrets.hostKey, keyFiles(keys.host)),
    secretDoc(names.secrets.devLogin, { password: `${devLoginPassword}\n` }),
    podForEnvironment(pod, names, hostPort, images),
  ]
  return docs.map((doc) => new YAML.Document(doc).toString({ lineWidth: 0 })).join('---\n')
}

/** Writes the manifest readable by its owner only, since it holds private keys. */
export async function writeManifest(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text, { mode: 0o600 })
  await fs.chmod(file, 0o600)
}

export const cli = {
  command: 'manifest',
  summary:
    'Print the combined manifest of an environment (ConfigMaps, Secrets with fresh SSH keys and a fresh dev login password, Pod) on stdout. Needs no podman.',
  positionals: ['<env>'],
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write to FILE (mode 0600) instead of stdout' },
    'deploy-config': deployConfigOption,
    port: portOption,
    tag: { ...buildOptions.tag, description: `tag of the images the pod runs (default ${DEV_TAG})` },
    registry: { ...buildOptions.registry, description: 'name prefix of the images the pod runs (default localhost)' },
  },
  notes: 'The output holds private keys: keep it out of logs and version control.',
} as const

runStep('manifest', async () => {
  const { values, positionals } = parseCommandLine(cli)
  const env = resolveEnvironment(positionals[0])
  const users = readDevUsers(env.devUsersFile, repoRoot)
  const deployConfig = resolveDeployConfig(env.configDir, values['deploy-config'])
  const hostPort = values.port === undefined ? env.hostPort : parsePort(values.port, '--port')
  const pod = await readPodTemplate()
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'jh_slurm_keys.'))
  try {
    const keys = await generateEnvironmentKeys(scratch)
    const text = renderManifest({ names: env.names, hostPort, images: builtImages(values.tag, values.registry), users, deployConfig, keys, devLoginPassword: newDevLoginPassword(), pod })
    if (values.output) {
      const file = path.resolve(values.output)
      await writeManifest(file, text)
      process.stderr.write(`wrote ${file} (holds private keys)\n`)
    } else {
      process.stdout.write(text)
    }
  } finally {
    await fs.rm(scratch, { recursive: true, force: true })
  }
})
