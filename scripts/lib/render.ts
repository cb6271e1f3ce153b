// Rendering the combined manifest of an environment: the ConfigMaps of dev
// users and deploy settings, the Secrets (SSH keys, dev login password) and
// the Pod of its template, each under the environment's own name.
import YAML from 'yaml'
import { baseUrlLabel, baseUrlOf } from './base-url.ts'
import type { ClusterAccess } from './cluster-access.ts'
import { type NadirAccess, nadirConfigFiles, nadirKeyFiles } from './nadir.ts'
import { asServerPod } from './nadir-server.ts'
import { asNodePod } from './nodes.ts'
import { type DeployConfig, deployConfigData } from './deploy-config.ts'
import { isLoginFront } from './dev-issuer.ts'
import { type DevUser, devUsersValue } from './dev-users.ts'
import { podFactsData } from './pod-facts.ts'
import { UserError } from './errors.ts'
import type { EnvironmentKeys, KeyPair } from './keys.ts'
import {
  type ConfigMapKey,
  DEV_TAG,
  DEV_USERS_KEY,
  ENV_LABEL,
  type ImageKey,
  imageRef,
  PORT_LABEL,
  type ResourceNames,
  type SecretKey,
  TEMPLATE_NAMES,
} from './names.ts'
import {
  type Doc,
  HUB_API_CONTAINER_PORT,
  HUB_CONTAINER_PORT,
  imageKeyOf,
  keyOf,
  type PodDoc,
  type PodSpec,
  templateUse,
} from './template.ts'

const LOCALHOST = 'localhost,127.0.0.1,::1'

const configMap = (name: string, data: Record<string, string>): Doc => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  immutable: true,
  data,
})

/** The ConfigMap of the dev users (what `dev_users` lists), as the containers read it. */
export const devUsersConfigMapDoc = (name: string, users: DevUser[]): Doc =>
  configMap(name, { [DEV_USERS_KEY]: devUsersValue(users) })

export const deployConfigDoc = (name: string, config: DeployConfig): Doc => configMap(name, deployConfigData(config))

/** Image references of the containers named after an image (jupyterhub, slurm). */
export type ContainerImages = Partial<Record<ImageKey, string>>

/** The images built with `tag` under `registry` (as build-images names them). */
export const builtImages = (tag: string = DEV_TAG, registry?: string): ContainerImages => ({
  jupyterhub: imageRef('jupyterhub', tag, registry),
  slurm: imageRef('slurm', tag, registry),
  'nadir-client': imageRef('nadir-client', tag, registry),
})

export interface HostPorts {
  /** The proxy, on 127.0.0.1. */
  proxy: number
  /** The hub API, where the template publishes it. */
  hubApi?: number
}

type Container = NonNullable<PodSpec['containers']>[number]

function placeContainer(container: Container, names: ResourceNames, ports: HostPorts, images: ContainerImages): void {
  const key = imageKeyOf(container)
  const image = key && images[key]
  if (image) container.image = image
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef)
      source.configMapRef.name =
        names.configMaps[keyOf('ConfigMap', TEMPLATE_NAMES.configMaps, source.configMapRef.name)]
  }
  for (const port of container.ports ?? []) {
    if (port.hostPort === undefined) continue
    if (isLoginFront(container)) {
      // The issuer URL is the same inside the pod and out (docs/realauth.md).
      port.containerPort = ports.proxy
      port.hostPort = ports.proxy
    } else if (port.containerPort === HUB_CONTAINER_PORT) port.hostPort = ports.proxy
    else if (port.containerPort === HUB_API_CONTAINER_PORT) {
      if (ports.hubApi === undefined)
        throw new UserError(`the pod publishes the hub API: set hubApiHostPort in config/${names.env}/launcher.yaml`)
      port.hostPort = ports.hubApi
    }
  }
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
  for (const container of pod.spec.containers ?? []) placeContainer(container, names, ports, images)
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
  /** For a pod with the Nadir tunnel's client: its key and the server's address. */
  nadir?: NadirAccess
  /** Needed when the pod mounts the dummy login's password. */
  devLoginPassword?: string
  /** Needed when the pod runs Slurm: the environment's own MUNGE key. */
  mungeKey?: string
  /** Needed when the pod runs the proxy apart from the hub: the token of its API. */
  proxyAuthToken?: string
  /** dev_realauth_nadir's stand-in Nadir server: a second pod, on the same ConfigMaps and Secrets. */
  server?: Doc
  /** Slurm's compute nodes: a pod each, on the same ConfigMaps, Secrets and homes volume. */
  nodes?: Doc[]
  /** Secrets the pod uses that are made elsewhere (a pipeline's secret store): left out. */
  omitSecrets?: SecretKey[]
  pod: Doc
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`renderManifest: the pod needs ${what}`)
  return value
}

function secretDocs(input: ManifestInput): Record<SecretKey, () => Doc> {
  const { names } = input
  return {
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
    munge: () => secretDoc(names.secrets.munge, { 'munge.key': need(input.mungeKey, 'a MUNGE key') }),
    proxyToken: () =>
      secretDoc(names.secrets.proxyToken, { token: need(input.proxyAuthToken, "a token of the proxy's API") }),
    nadirKey: () => secretDoc(names.secrets.nadirKey, nadirKeyFiles(need(input.nadir, "the Nadir client's key"))),
    nadirConfig: () =>
      secretDoc(names.secrets.nadirConfig, nadirConfigFiles(need(input.nadir, "the Nadir server's address"))),
  }
}

const containersOf = (pod: Doc) => (pod as PodDoc).spec?.containers ?? []
const volumesOf = (pod: Doc) => (pod as PodDoc).spec?.volumes ?? []

/** The pod with more labels. */
function labelled(pod: Doc, labels: Record<string, string>): Doc {
  const { metadata } = pod as { metadata?: { labels?: Record<string, string> } }
  return { ...pod, metadata: { ...metadata, labels: { ...metadata?.labels, ...labels } } }
}

/** The ConfigMaps and Secrets the pod uses, then the pod; nothing it does not use. */
export function renderManifest(input: ManifestInput): string {
  const { names, pod, server } = input
  const use = templateUse(
    server
      ? { spec: { containers: [pod, server].flatMap(containersOf), volumes: [pod, server].flatMap(volumesOf) } }
      : pod,
  )
  const labels = baseUrlLabel(baseUrlOf(input.deployConfig))
  const configMaps: Record<ConfigMapKey, () => Doc> = {
    devUsers: () => devUsersConfigMapDoc(names.configMaps.devUsers, need(input.users, 'dev users')),
    deployConfig: () => deployConfigDoc(names.configMaps.deployConfig, input.deployConfig),
    podFacts: () => configMap(names.configMaps.podFacts, podFactsData()),
  }
  const secrets = secretDocs(input)
  const order = <K extends string>(all: K[], used: K[]) => all.filter((k) => used.includes(k))
  const docs = [
    ...order<ConfigMapKey>(['devUsers', 'deployConfig', 'podFacts'], use.configMaps).map((k) => configMaps[k]()),
    ...order<SecretKey>(
      ['clientKey', 'hostKey', 'knownHosts', 'devLogin', 'munge', 'proxyToken', 'nadirKey', 'nadirConfig'],
      use.secrets,
    )
      .filter((k) => !input.omitSecrets?.includes(k))
      .map((k) => secrets[k]()),
    labelled(podForEnvironment(pod, names, input.ports, input.images), labels),
    ...(server
      ? [labelled(asServerPod(podForEnvironment(server, names, input.ports, input.images), names), labels)]
      : []),
    ...(input.nodes ?? []).map((node, i) =>
      labelled(asNodePod(podForEnvironment(node, names, input.ports, input.images), names, i + 1), labels),
    ),
  ]
  return docs.map((doc) => new YAML.Document(doc).toString({ lineWidth: 0 })).join('---\n')
}
