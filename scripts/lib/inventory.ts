// What exists in podman now, in three calls made at once, and which
// environments it belongs to. `up`, `down` and `status` all start from here
// instead of asking about each resource in turn.
import { baseUrlFromLabels } from './base-url.ts'
import {
  ENV_LABEL,
  LEGACY,
  LEGACY_NAMES,
  nadirServerPodName,
  networkName,
  PORT_LABEL,
  type ResourceNames,
  resourceNames,
} from './names.ts'
import { allNodePodNames } from './nodes.ts'
import { podman } from './podman.ts'

export interface ContainerState {
  name: string
  state: string
}

export interface PodState {
  id: string
  name: string
  state: string
  labels: Record<string, string>
  /** The pod's containers without the infra container. */
  containers: ContainerState[]
}

export interface Inventory {
  pods: PodState[]
  volumes: string[]
  secrets: string[]
  /** Podman networks (an environment's, which its pods share: the hub's, the nodes', the stand-in Nadir server's). */
  networks?: string[]
}

export type ResourceKind = 'pod' | 'volume' | 'secret' | 'network'

export interface Resource {
  kind: ResourceKind
  name: string
}

interface PodPsEntry {
  Id: string
  Name: string
  Status: string
  Labels?: Record<string, string> | null
  InfraId?: string
  Containers?: Array<{ Id: string; Names: string; Status: string }> | null
}

/** The non-empty lines of a command's output. */
export const lines = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)

export function parsePodPs(json: string): PodState[] {
  const entries = (JSON.parse(json || '[]') ?? []) as PodPsEntry[]
  return entries.map((p) => ({
    id: p.Id,
    name: p.Name,
    state: p.Status,
    labels: p.Labels ?? {},
    containers: (p.Containers ?? []).filter((c) => c.Id !== p.InfraId).map((c) => ({ name: c.Names, state: c.Status })),
  }))
}

/** Pods, volumes, secrets and networks, listed at once. */
export async function takeInventory(): Promise<Inventory> {
  const [pods, volumes, secrets, networks] = await Promise.all([
    podman(['pod', 'ps', '--format', 'json']),
    listVolumes(),
    podman(['secret', 'ls', '--format', '{{.Name}}']),
    podman(['network', 'ls', '--format', '{{.Name}}']),
  ])
  return { pods: parsePodPs(pods.stdout), volumes, secrets: lines(secrets.stdout), networks: lines(networks.stdout) }
}

async function listVolumes(): Promise<string[]> {
  return lines((await podman(['volume', 'ls', '--format', '{{.Name}}'])).stdout)
}

/** Everything `up` can make for an environment, in the order it is removed. */
export function resourcesOf(names: ResourceNames): Resource[] {
  const secrets = Object.values(names.secrets)
  // dev_realauth_nadir's stand-in Nadir server and the network of its two pods.
  // Slurm's compute nodes, whatever number the settings ask for now (lib/nodes.ts).
  const standIn =
    names.env === LEGACY
      ? []
      : [nadirServerPodName(names), ...allNodePodNames(names)].map((name) => ({ kind: 'pod' as const, name }))
  const network = names.env === LEGACY ? [] : [{ kind: 'network' as const, name: networkName(names) }]
  return [
    { kind: 'pod', name: names.pod },
    ...standIn,
    ...Object.values(names.volumes).map((name) => ({ kind: 'volume' as const, name })),
    ...secrets.map((name) => ({ kind: 'secret' as const, name })),
    // Older podman made a volume for each Secret a pod mounted.
    ...secrets.map((name) => ({ kind: 'volume' as const, name })),
    ...network,
  ]
}

export function present(inventory: Inventory, resource: Resource): boolean {
  const list = {
    pod: inventory.pods.map((p) => p.name),
    volume: inventory.volumes,
    secret: inventory.secrets,
    network: inventory.networks ?? [],
  }[resource.kind]
  return list.includes(resource.name)
}

/** An environment with anything of it in podman. */
export interface UpEnvironment {
  names: ResourceNames
  pod?: PodState
  resources: Resource[]
  hostPort?: number
  /** The hub's URL prefix. */
  baseUrl?: string
}

/**
 * The environments that have something in podman: the known ones, any pod
 * labelled with an environment, and what versions with fixed names left.
 */
export function environmentsUp(inventory: Inventory, known: string[]): UpEnvironment[] {
  const labelled = inventory.pods.map((p) => p.labels[ENV_LABEL]).filter((e): e is string => Boolean(e))
  const candidates = [...new Set([...known, ...labelled])].sort().map(resourceNames)
  candidates.push(LEGACY_NAMES)
  const up: UpEnvironment[] = []
  for (const names of candidates) {
    const resources = resourcesOf(names).filter((r) => present(inventory, r))
    if (resources.length === 0) continue
    const pod = inventory.pods.find((p) => p.name === names.pod)
    const port = Number(pod?.labels[PORT_LABEL])
    const hostPort = Number.isInteger(port) && port > 0 ? port : undefined
    up.push({ names, pod, resources, hostPort, baseUrl: pod && baseUrlFromLabels(pod.labels) })
  }
  return up
}

export const describeResources = (resources: Resource[]): string => {
  const [first, ...rest] = resources.map((r) => `${r.kind} ${r.name}`)
  return rest.length ? `${first} and ${rest.length} more` : (first ?? 'nothing')
}
