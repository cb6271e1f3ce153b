// Step: render the combined manifest of an environment: the ConfigMaps of dev
// users and deploy settings, the Secrets (SSH keys, dev login password) and
// the Pod of jh_slurm_pod.yaml, each under the environment's own name.
import crypto from 'node:crypto'
import { existsSync } from 'node:fs'
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
import {
  type ConfigMapKey,
  DEV_TAG,
  DEV_USERS_KEY,
  defaultTag,
  ENV_LABEL,
  IMAGES,
  imageRef,
  type ImageKey,
  PORT_LABEL,
  type ResourceNames,
  type SecretKey,
  TEMPLATE_NAMES,
  type VolumeKey,
} from './lib/names.ts'
import { exec } from './lib/exec.ts'
import { buildOptions } from './build-images.ts'
import { readUserFile, repoPaths, repoRoot } from './lib/paths.ts'
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

export const configMapDoc = (name: string, users: DevUser[]): Doc =>
  configMap(name, { [DEV_USERS_KEY]: devUsersValue(users) })

export const deployConfigDoc = (name: string, config: DeployConfig): Doc => configMap(name, deployConfigData(config))

/** Ports inside the pod: the proxy, and the hub API (published only where jobs run elsewhere). */
export const HUB_CONTAINER_PORT = 8000
export const HUB_API_CONTAINER_PORT = 8081

interface PodSpec {
  containers?: Array<{
    name: string
    image?: string
    envFrom?: Array<{ configMapRef?: { name: string } }>
    ports?: Array<{ containerPort: number; hostPort?: number }>
  }>
  volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string } }>
}
type PodDoc = Doc & { metadata?: { name?: string; labels?: Record<string, string> }; spec?: PodSpec }

/** What a template name stands for; a name the launcher does not make is an error. */
function keyOf<K extends string>(kind: string, templateNames: Record<K, string>, name: string): K {
  const key = (Object.keys(templateNames) as K[]).find((k) => templateNames[k] === name)
  if (!key) {
    const known = Object.values(templateNames).join(', ')
    throw new UserError(
      `the pod template refers to ${kind} "${name}", which the launcher does not make (it makes: ${known})`,
    )
  }
  return key
}

/** What a pod template uses of what the launcher makes: this decides what is built, made and rendered. */
export interface TemplateUse {
  volumes: VolumeKey[]
  secrets: SecretKey[]
  configMaps: ConfigMapKey[]
  images: ImageKey[]
  /** Whether it publishes the hub API (for jobs on another machine). */
  publishesHubApi: boolean
}

export function templateUse(template: Doc): TemplateUse {
  const spec = ((template as PodDoc).spec ?? {}) as PodSpec
  const uniq = <T>(xs: T[]) => [...new Set(xs)]
  return {
    volumes: uniq(
      (spec.volumes ?? []).flatMap((v) =>
        v.persistentVolumeClaim
          ? [keyOf('volume claim', TEMPLATE_NAMES.volumes, v.persistentVolumeClaim.claimName)]
          : [],
      ),
    ),
    secrets: uniq(
      (spec.volumes ?? []).flatMap((v) =>
        v.secret ? [keyOf('Secret', TEMPLATE_NAMES.secrets, v.secret.secretName)] : [],
      ),
    ),
    configMaps: uniq(
      (spec.containers ?? []).flatMap((c) =>
        (c.envFrom ?? []).flatMap((e) =>
          e.configMapRef ? [keyOf('ConfigMap', TEMPLATE_NAMES.configMaps, e.configMapRef.name)] : [],
        ),
      ),
    ),
    images: uniq((spec.containers ?? []).map((c) => c.name).filter((n): n is ImageKey => n in IMAGES)),
    publishesHubApi: (spec.containers ?? []).some((c) =>
      (c.ports ?? []).some((p) => p.containerPort === HUB_API_CONTAINER_PORT && p.hostPort !== undefined),
    ),
  }
}

/** An environment whose Slurm is elsewhere: the pod takes the cluster's host key from a file. */
export const usesExternalSlurm = (use: TemplateUse): boolean => use.secrets.includes('knownHosts')

/** Image references of the containers named after an image (jupyterhub, slurm). */
export type ContainerImages = Partial<Record<ImageKey, string>>

/** The images built with `tag` under `registry` (as build-images names them). */
export const builtImages = (tag: string = DEV_TAG, registry?: string): ContainerImages => ({
  jupyterhub: imageRef('jupyterhub', tag, registry),
  slurm: imageRef('slurm', tag, registry),
})

export interface HostPorts {
  /** The proxy, on 127.0.0.1. */
  proxy: number
  /** The hub API, where the template publishes it. */
  hubApi?: number
}

/**
 * The Pod of the template under the environment's names: its own pod name
 * and labels, claims, secrets and ConfigMaps, its host ports, and each
 * container on the image that was built for it.
 */
export function podForEnvironment(
  template: Doc,
  names: ResourceNames,
  ports: HostPorts,
  images: ContainerImages = builtImages(),
): Doc {
  const pod = structuredClone(template) as PodDoc & { spec: PodSpec }
  pod.metadata = {
    ...pod.metadata,
    name: names.pod,
    labels: { ...pod.metadata?.labels, [ENV_LABEL]: names.env, [PORT_LABEL]: String(ports.proxy) },
  }
  for (const container of pod.spec.containers ?? []) {
    const image = container.name in IMAGES ? images[container.name as ImageKey] : undefined
    if (image) container.image = image
    for (const source of container.envFrom ?? []) {
      if (source.configMapRef)
        source.configMapRef.name =
          names.configMaps[keyOf('ConfigMap', TEMPLATE_NAMES.configMaps, source.configMapRef.name)]
    }
    for (const port of container.ports ?? []) {
      if (port.hostPort === undefined) continue
      if (port.containerPort === HUB_CONTAINER_PORT) port.hostPort = ports.proxy
      else if (port.containerPort === HUB_API_CONTAINER_PORT) {
        if (ports.hubApi === undefined)
          throw new UserError(`the pod publishes the hub API: set hubApiHostPort in config/${names.env}/launcher.yaml`)
        port.hostPort = ports.hubApi
      }
    }
  }
  for (const volume of pod.spec.volumes ?? []) {
    const claim = volume.persistentVolumeClaim
    if (claim) claim.claimName = names.volumes[keyOf('volume claim', TEMPLATE_NAMES.volumes, claim.claimName)]
    if (volume.secret)
      volume.secret.secretName = names.secrets[keyOf('Secret', TEMPLATE_NAMES.secrets, volume.secret.secretName)]
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

/** The hub's key for an external Slurm and that cluster's host key line: files the operator supplies. */
export interface ClusterAccess {
  clientKey: KeyPair
  knownHosts: string
}

export interface ManifestInput {
  names: ResourceNames
  ports: HostPorts
  /** Default: the dev images, localhost/<image>:dev-latest. */
  images?: ContainerImages
  /** Needed when the pod uses the dev users' ConfigMap. */
  users?: DevUser[]
  deployConfig: DeployConfig
  /** Generated keys: the client key (Slurm in the pod) and the Slurm sshd's host key. */
  keys?: Partial<EnvironmentKeys>
  /** For a pod whose Slurm is elsewhere. */
  cluster?: ClusterAccess
  /** Needed when the pod mounts the dummy login's password. */
  devLoginPassword?: string
  /** Secrets the pod uses that are made elsewhere (a pipeline's secret store): left out. */
  omitSecrets?: SecretKey[]
  pod: Doc
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`renderManifest: the pod needs ${what}`)
  return value
}

/** The ConfigMaps and Secrets the pod uses, then the pod; nothing it does not use. */
export function renderManifest(input: ManifestInput): string {
  const { names, pod } = input
  const use = templateUse(pod)
  const configMaps: Record<ConfigMapKey, () => Doc> = {
    devUsers: () => configMapDoc(names.configMaps.devUsers, need(input.users, 'dev users')),
    deployConfig: () => deployConfigDoc(names.configMaps.deployConfig, input.deployConfig),
  }
  const secrets: Record<SecretKey, () => Doc> = {
    clientKey: () =>
      secretDoc(
        names.secrets.clientKey,
        input.cluster
          ? { ssh_key: input.cluster.clientKey.privateKey, 'ssh_key.pub': `${input.cluster.clientKey.publicKey}\n` }
          : keyFiles(need(input.keys?.client, 'a client key')),
      ),
    hostKey: () => secretDoc(names.secrets.hostKey, keyFiles(need(input.keys?.host, 'a host key'))),
    knownHosts: () =>
      secretDoc(names.secrets.knownHosts, {
        ssh_known_hosts: need(input.cluster, "the cluster's host key").knownHosts,
      }),
    devLogin: () =>
      secretDoc(names.secrets.devLogin, { password: `${need(input.devLoginPassword, 'a dev login password')}\n` }),
  }
  const order = <K extends string>(all: K[], used: K[]) => all.filter((k) => used.includes(k))
  const docs = [
    ...order<ConfigMapKey>(['devUsers', 'deployConfig'], use.configMaps).map((k) => configMaps[k]()),
    ...order<SecretKey>(['clientKey', 'hostKey', 'knownHosts', 'devLogin'], use.secrets)
      .filter((k) => !input.omitSecrets?.includes(k))
      .map((k) => secrets[k]()),
    podForEnvironment(pod, names, input.ports, input.images),
  ]
  return docs.map((doc) => new YAML.Document(doc).toString({ lineWidth: 0 })).join('---\n')
}

export const sshClientKeyOption = {
  type: 'string',
  value: 'FILE',
  env: 'JH_SLURM_SSH_CLIENT_KEY',
  description: "the hub's SSH private key for an external Slurm's login node (environments without Slurm in the pod)",
} as const

export const sshKnownHostsOption = {
  type: 'string',
  value: 'FILE',
  env: 'JH_SLURM_SSH_KNOWN_HOSTS',
  description: "known_hosts line(s) with that login node's host key (environments without Slurm in the pod)",
} as const

/**
 * Reads the files an external-Slurm environment needs, checking them before
 * anything is made: the private key (its public half derived with ssh-keygen)
 * and the known_hosts lines.
 */
export async function readClusterAccess(
  envName: string,
  clientKeyFile: string | undefined,
  knownHostsFile: string | undefined,
): Promise<ClusterAccess> {
  if (!clientKeyFile || !knownHostsFile) {
    throw new UserError(
      `${envName} runs its jobs on a Slurm cluster outside the pod: give the hub's SSH key with --ssh-client-key FILE (or JH_SLURM_SSH_CLIENT_KEY) and the login node's host key with --ssh-known-hosts FILE (or JH_SLURM_SSH_KNOWN_HOSTS); see README.md`,
      2,
    )
  }
  const privateKey = readUserFile(path.resolve(clientKeyFile), 'SSH client key')
  if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/m.test(privateKey))
    throw new UserError(`${clientKeyFile} is not an SSH private key (PEM/OpenSSH, without a passphrase)`)
  registerSecret(privateKey.trim())
  const knownHosts = readUserFile(path.resolve(knownHostsFile), 'known_hosts file')
  const lines = knownHosts
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  if (lines.length === 0 || lines.some((l) => l.split(/\s+/).length < 3)) {
    throw new UserError(`${knownHostsFile}: expected known_hosts lines "<host> <key type> <key>"`)
  }
  const keyText = privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`
  // ssh-keygen refuses a key file others can read: derive the public half from a private copy.
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'jh_slurm_key.'))
  try {
    const copy = path.join(scratch, 'key')
    await fs.writeFile(copy, keyText, { mode: 0o600 })
    const derived = await exec(['ssh-keygen', '-y', '-f', copy], { nothrow: true })
    if (derived.exitCode !== 0)
      throw new UserError(
        `${clientKeyFile}: ssh-keygen cannot read it (${derived.stderr.trim().split('\n').pop() || `exit ${derived.exitCode}`}); a key without a passphrase is needed`,
      )
    return { clientKey: { privateKey: keyText, publicKey: derived.stdout.trim() }, knownHosts: `${lines.join('\n')}\n` }
  } finally {
    await fs.rm(scratch, { recursive: true, force: true })
  }
}

/** Writes the manifest readable by its owner only, since it holds private keys. */
export async function writeManifest(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text, { mode: 0o600 })
  await fs.chmod(file, 0o600)
}

export const cli = {
  command: 'manifest',
  summary:
    'Print the combined manifest of an environment on stdout: the ConfigMaps and Secrets its pod uses (fresh SSH keys and dev login password where it has them), then the Pod. Needs no podman.',
  positionals: ['<env>'],
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write to FILE (mode 0600) instead of stdout' },
    'deploy-config': deployConfigOption,
    port: portOption,
    tag: {
      ...buildOptions.tag,
      description: "tag of the images the pod runs (default: the environment's stage's, dev-latest or prod-latest)",
    },
    registry: { ...buildOptions.registry, description: 'name prefix of the images the pod runs (default localhost)' },
    'ssh-client-key': sshClientKeyOption,
    'ssh-known-hosts': sshKnownHostsOption,
  },
  notes:
    'The output holds private keys: keep it out of logs and version control.\n' +
    'An environment whose dev_users is not there (dev_realauth) is rendered with dev_users.example.',
} as const

/** The dev users for rendering only: the file, or its example when there is none. */
function devUsersForRendering(file: string): DevUser[] {
  if (existsSync(file) || !existsSync(`${file}.example`)) return readDevUsers(file, repoRoot)
  process.stderr.write(
    `note: ${path.relative(repoRoot, file)} not found; rendering with ${path.relative(repoRoot, file)}.example\n`,
  )
  return readDevUsers(`${file}.example`, repoRoot)
}

runStep('manifest', async () => {
  const { values, positionals } = parseCommandLine(cli)
  const env = resolveEnvironment(positionals[0])
  const pod = await readPodTemplate(env.podTemplate)
  const use = templateUse(pod)
  const deployConfig = resolveDeployConfig(env.configDir, values['deploy-config'])
  const ports = {
    proxy: values.port === undefined ? env.hostPort : parsePort(values.port, '--port'),
    hubApi: env.hubApiHostPort,
  }
  const external = usesExternalSlurm(use)
  // Without the operator's files, the two Secrets are left for the deployment's own secret store.
  const withoutClusterFiles = external && !values['ssh-client-key'] && !values['ssh-known-hosts']
  const cluster =
    external && !withoutClusterFiles
      ? await readClusterAccess(env.name, values['ssh-client-key'], values['ssh-known-hosts'])
      : undefined
  const omitSecrets: SecretKey[] = withoutClusterFiles ? ['clientKey', 'knownHosts'] : []
  if (withoutClusterFiles) {
    process.stderr.write(
      `note: without --ssh-client-key and --ssh-known-hosts the Secrets ${env.names.secrets.clientKey} (ssh_key, ssh_key.pub) and ${env.names.secrets.knownHosts} (ssh_known_hosts) are left out; create them where the manifest is deployed\n`,
    )
  }
  const users = use.configMaps.includes('devUsers') ? devUsersForRendering(env.devUsersFile) : undefined
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'jh_slurm_keys.'))
  try {
    const keys = await generateEnvironmentKeys(scratch, false, {
      client: use.secrets.includes('clientKey') && !external,
      host: use.secrets.includes('hostKey'),
    })
    const text = renderManifest({
      names: env.names,
      ports,
      images: builtImages(values.tag ?? defaultTag(env.target), values.registry),
      users,
      deployConfig,
      keys,
      cluster,
      devLoginPassword: use.secrets.includes('devLogin') ? newDevLoginPassword() : undefined,
      omitSecrets,
      pod,
    })
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
