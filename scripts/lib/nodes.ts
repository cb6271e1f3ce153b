// Slurm's compute nodes (docs/architecture.md, "Compute nodes"). Where Slurm
// runs in the pod, the deploy setting slurmNodes (default in deploy-config.ts)
// gives it nodes of their own: each a pod, jupyterhub-slurm-<env>-node-<i>,
// on the environment's podman network with its own address and host name
// (node-<i>), running munged and slurmd from the Slurm image. slurmd takes
// its configuration from slurmctld (configless), so the login node's
// slurm.conf is the only one. The users' homes and the MUNGE key are the
// environment's, shared with the login node. With slurmNodes 0 slurmd runs
// in the Slurm container as before.
import {
  type DeployConfig,
  type DeployConfigOverlay,
  type DeployKey,
  MAX_SLURM_NODES,
  POD_SLURM_DEFAULTS,
  resolveDeployConfig,
} from './deploy-config.ts'
import type { Environment } from './environment.ts'
import { UserError } from './errors.ts'
import type { Inventory, UpEnvironment } from './inventory.ts'
import { containerName, imageRef, type ResourceNames, TEMPLATE_NAMES } from './names.ts'
import { POD_PORTS } from './pod-facts.ts'
import { podman } from './podman.ts'
import { type Doc, readEnvironmentPod, rootOnlyPortsBelow, type TemplateUse, templateUse } from './template.ts'
import { pollUntil } from './wait.ts'

/** The container of a node's pod. */
export const NODE_CONTAINER = 'slurmd'
/** The Slurm image's command that makes a node (brics_slurm/container-scripts). */
const START_NODE = '/usr/local/sbin/start-slurm-node'

/** The host name, and Slurm's NodeName, of node `i` (from 1). */
export const nodeHostName = (i: number): string => `node-${i}`
export const nodePodName = (names: ResourceNames, i: number): string => `${names.pod}-node-${i}`
/** The node's container, for logs and exec. */
export const nodeContainer = (names: ResourceNames, i: number): string =>
  containerName({ ...names, pod: nodePodName(names, i) }, NODE_CONTAINER)

export const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1)

/** Every node pod an environment can have: what `down` looks for, whatever the settings now say. */
export const allNodePodNames = (names: ResourceNames): string[] =>
  upTo(MAX_SLURM_NODES).map((i) => nodePodName(names, i))

/** The number of nodes the settings ask for (0 where Slurm is not in the pod). */
export const nodeCount = (config: DeployConfig): number => Number(config.get('slurmNodes') ?? 0)

/** Whether the pod runs Slurm itself (a Slurm container): then the settings of Slurm in the pod apply. */
export const runsSlurm = (use: TemplateUse): boolean => use.images.includes('slurm')

/** The hub API's URL as jobs reach it: across the network from a node, on the pod's loopback without nodes. */
export const hubConnectUrl = (names: ResourceNames, nodes: number): string =>
  `http://${nodes > 0 ? names.pod : '127.0.0.1'}:${POD_PORTS.hubApi}`

/**
 * The environment's deploy settings, with the defaults of Slurm in the pod
 * where its pod runs Slurm, and the hub's URL for jobs made from them.
 */
export async function environmentSettings(env: Environment, overlay?: DeployConfigOverlay): Promise<DeployConfig> {
  const slurm = runsSlurm(templateUse(await readEnvironmentPod(env)))
  const defaults: Partial<Record<DeployKey, string>> = slurm ? POD_SLURM_DEFAULTS : {}
  const config = resolveDeployConfig(env.configDir, overlay, defaults)
  if (slurm && !config.has('hubConnectUrl')) config.set('hubConnectUrl', hubConnectUrl(env.names, nodeCount(config)))
  return config
}

/** Where a node's slurmd finds slurmctld: the hub pod's name on the network, at the port the Slurm container gives it. */
export function controllerAddress(pod: Doc, names: ResourceNames): string {
  const line = rootOnlyPortsBelow(pod)
  return line === undefined ? names.pod : `${names.pod}:${line}`
}

/** slurmd's container of node `i`, under template names. */
export function nodeContainerSpec(i: number, controller: string): Doc {
  const { volumes, secrets, configMaps } = TEMPLATE_NAMES
  return {
    name: NODE_CONTAINER,
    image: imageRef('slurm'),
    command: [START_NODE],
    env: [
      { name: 'SLURM_POD_NODE', value: nodeHostName(i) },
      { name: 'SLURM_POD_CONTROLLER', value: controller },
    ],
    envFrom: [{ configMapRef: { name: configMaps.devUsers } }, { configMapRef: { name: configMaps.deployConfig } }],
    volumeMounts: [
      { name: volumes.homes, mountPath: '/home' },
      { name: secrets.munge, mountPath: '/etc/slurm-pod/munge.key', subPath: 'munge.key', readOnly: true },
    ],
  }
}

/** The pod of node `i`, under template names (rendering gives it the environment's, as to the hub's pod). */
export function nodePodTemplate(i: number, controller: string): Doc {
  const { volumes, secrets } = TEMPLATE_NAMES
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'node', annotations: { [`io.podman.annotations.init/${NODE_CONTAINER}`]: 'true' } },
    spec: {
      hostname: nodeHostName(i),
      containers: [nodeContainerSpec(i, controller)],
      volumes: [
        { name: volumes.homes, persistentVolumeClaim: { claimName: volumes.homes } },
        { name: secrets.munge, secret: { secretName: secrets.munge, defaultMode: 0o600, optional: false } },
      ],
    },
  }
}

/** The node pods of an environment whose pod is `pod`, as many as the settings ask for. */
export function nodePods(pod: Doc, names: ResourceNames, config: DeployConfig): Doc[] {
  if (!runsSlurm(templateUse(pod))) return []
  const controller = controllerAddress(pod, names)
  return upTo(nodeCount(config)).map((i) => nodePodTemplate(i, controller))
}

/** A rendered node pod under its own name (rendering names every pod after the environment's). */
export function asNodePod(rendered: Doc, names: ResourceNames, i: number): Doc {
  const pod = rendered as Doc & { metadata?: Record<string, unknown> }
  return { ...pod, metadata: { ...pod.metadata, name: nodePodName(names, i) } }
}

/** A node as Slurm sees it: its state and GPUs (scontrol show node). */
export interface NodeState {
  name: string
  /** Slurm's state, lower case (idle, mixed, allocated, down, ...; + drain, * not responding). */
  state: string
  gpus: number
  gpusInUse: number
}

const field = (line: string, key: string): string | undefined => new RegExp(`(?:^|\\s)${key}=(\\S*)`).exec(line)?.[1]

/** `scontrol show node --oneliner`: one line per node. */
export function parseNodes(text: string): NodeState[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('NodeName='))
    .map((line) => ({
      name: field(line, 'NodeName') ?? '',
      state: (field(line, 'State') ?? '').toLowerCase(),
      gpus: Number(/gpu:(?:[^:,\s]+:)?(\d+)/.exec(field(line, 'Gres') ?? '')?.[1] ?? 0),
      gpusInUse: Number(/gres\/gpu=(\d+)/.exec(field(line, 'AllocTRES') ?? '')?.[1] ?? 0),
    }))
}

/** Whether a node takes jobs: registered and not down or drained. */
export const nodeReady = (node: NodeState): boolean => /^(idle|mixed|allocated)$/.test(node.state)

/** The nodes as slurmctld in `slurm` (the Slurm container) sees them; none when it does not answer. */
export async function slurmNodes(slurm: string): Promise<NodeState[]> {
  const run = await podman(['exec', slurm, 'scontrol', 'show', 'node', '--oneliner'], { nothrow: true })
  return run.exitCode === 0 ? parseNodes(run.stdout) : []
}

/**
 * Waits until slurmctld has every one of the `count` nodes registered and
 * ready for jobs; the message of a timeout names those that are not.
 */
export async function waitForNodes(
  names: ResourceNames,
  count: number,
  timeoutMs: number,
  stop?: AbortSignal,
): Promise<void> {
  if (count === 0) return
  const slurm = containerName(names, 'slurm')
  const wanted = upTo(count).map(nodeHostName)
  let last: NodeState[] = []
  const { value } = await pollUntil(
    timeoutMs,
    async () => {
      if (stop?.aborted) return true
      last = await slurmNodes(slurm)
      return wanted.every((name) => last.some((n) => n.name === name && nodeReady(n))) ? true : undefined
    },
    500,
  )
  if (value || stop?.aborted) return
  const waiting = wanted.map((name) => `${name} (${last.find((n) => n.name === name)?.state ?? 'not registered'})`)
  throw new UserError(
    `Slurm's nodes did not get ready within ${timeoutMs / 1000} s: ${waiting.join(', ')} (jh-slurm-pod logs ${names.env} node <i>)`,
  )
}

/** A node as `status` shows it: its pod and what Slurm says of it. */
export interface NodeStatus {
  name: string
  pod: string
  podState: string
  /** Slurm's state of the node; "unknown" when slurmctld does not answer or does not know it. */
  state: string
  gpus: number
  gpusInUse: number
}

/** The environment's node pods that exist, with Slurm's view of each; undefined when it has none. */
export async function nodesStatus(inventory: Inventory, up: UpEnvironment): Promise<NodeStatus[] | undefined> {
  const pods = upTo(MAX_SLURM_NODES).flatMap((i) => {
    const pod = inventory.pods.find((p) => p.name === nodePodName(up.names, i))
    return pod ? [{ i, pod }] : []
  })
  if (pods.length === 0) return undefined
  const seen = await slurmNodes(containerName(up.names, 'slurm'))
  return pods.map(({ i, pod }) => {
    const node = seen.find((n) => n.name === nodeHostName(i))
    return {
      name: nodeHostName(i),
      pod: pod.name,
      podState: pod.state,
      state: node?.state ?? 'unknown',
      gpus: node?.gpus ?? 0,
      gpusInUse: node?.gpusInUse ?? 0,
    }
  })
}

/** The lines `status` prints under an environment for its nodes. */
export const formatNodes = (nodes: NodeStatus[]): string[] =>
  nodes.map((n) => `  ${n.name}: ${n.state}, ${n.gpusInUse} of ${n.gpus} GPUs in use (pod ${n.pod} ${n.podState})`)
