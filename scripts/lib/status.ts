// What `status` reports of each environment that is up.
import { POD_PORTS } from './pod-facts.ts'
import { readRecord } from './applied.ts'
import { baseUrlOf } from './base-url.ts'
import type { UpEnvironment } from './inventory.ts'
import { type JobRecord, parseSacct, SACCT_FIELDS } from './logs.ts'
import { containerName, hubUrl, LEGACY } from './names.ts'
import type { TunnelStatus } from './nadir-server.ts'
import { formatNodes, type NodeStatus } from './nodes.ts'
import { podman } from './podman.ts'
import type { RepoPaths } from './paths.ts'

export interface EnvironmentStatus {
  environment: string
  url: string | null
  pod: { name: string; state: string } | null
  containers: Array<{ name: string; state: string }>
  /** Volumes and secrets of the environment, whether or not its pod runs. */
  volumes: string[]
  secrets: string[]
  /** The pod's Slurm (status --json, where Slurm runs in the pod): its queue and its last jobs from accounting. */
  slurm?: SlurmJobs
  /** Slurm's compute nodes, where the environment has them (lib/nodes.ts). */
  nodes?: NodeStatus[]
  /** dev_realauth_nadir's tunnel: its stand-in Nadir server and whether the client is connected (docs/nadir.md). */
  tunnel?: TunnelStatus
}

export interface QueuedJob {
  id: number
  user: string
  account: string
  state: string
  /** Why a pending job waits (QOSGrpGRES: its project's GPUs are in use), or None. */
  reason: string
}

export interface SlurmJobs {
  queue: QueuedJob[]
  /** The last jobs accounting recorded (at most LAST_JOBS, newest last), ended or not. */
  lastJobs: JobRecord[]
}

export const LAST_JOBS = 20

export function parseSqueue(text: string): QueuedJob[] {
  return text
    .split('\n')
    .map((line) => line.trim().split('|'))
    .flatMap(([id, user, account, state, reason]) =>
      id && /^\d+$/.test(id)
        ? [{ id: Number(id), user: user ?? '', account: account ?? '', state: state ?? '', reason: reason ?? '' }]
        : [],
    )
}

/** The queue and the last jobs of an environment's Slurm container; undefined when it does not answer. */
export async function slurmJobs(up: UpEnvironment): Promise<SlurmJobs | undefined> {
  const slurm = containerName(up.names, 'slurm')
  if (up.pod?.containers.find((c) => c.name === slurm)?.state !== 'running') return undefined
  const [queue, sacct] = await Promise.all([
    podman(['exec', slurm, 'squeue', '--noheader', '--format', '%i|%u|%a|%T|%r'], { nothrow: true }),
    podman(
      ['exec', slurm, 'sacct', '--allusers', '--allocations', '--parsable2', '--noheader'].concat([
        '--starttime',
        'now-30days',
        '--format',
        SACCT_FIELDS,
      ]),
      { nothrow: true },
    ),
  ])
  if (queue.exitCode !== 0) return undefined
  const lastJobs =
    sacct.exitCode === 0
      ? parseSacct(sacct.stdout)
          .sort((a, b) => a.id - b.id)
          .slice(-LAST_JOBS)
      : []
  return { queue: parseSqueue(queue.stdout), lastJobs }
}

/**
 * The hub's URL prefix now. The pod's label says what `up` made it with; an
 * `apply` that changed baseUrl cannot relabel the pod, but its record of what
 * it applied to this pod says the new one.
 */
export function currentBaseUrl(repo: RepoPaths, up: UpEnvironment): string | undefined {
  const applied = up.pod && readRecord(repo, up.names.env, up.pod.id)?.snapshot.deployConfig
  return applied ? baseUrlOf(new Map(Object.entries(applied))) : up.baseUrl
}

export function describe(up: UpEnvironment): EnvironmentStatus {
  const prefix = `${up.names.pod}-`
  return {
    environment: up.names.env,
    url: up.hostPort
      ? hubUrl(up.hostPort, up.baseUrl)
      : up.names.env === LEGACY && up.pod
        ? hubUrl(POD_PORTS.proxy)
        : null,
    pod: up.pod ? { name: up.pod.name, state: up.pod.state } : null,
    containers: (up.pod?.containers ?? []).map((c) => ({
      name: c.name.startsWith(prefix) ? c.name.slice(prefix.length) : c.name,
      state: c.state,
    })),
    volumes: up.resources.filter((r) => r.kind === 'volume').map((r) => r.name),
    secrets: up.resources.filter((r) => r.kind === 'secret').map((r) => r.name),
  }
}

export function formatStatus(statuses: EnvironmentStatus[]): string {
  if (statuses.length === 0) return 'no environment is up\n'
  const rows = statuses.map((s) => {
    const containers = s.containers.map((c) => `${c.name} ${c.state}`).join(', ')
    const what = s.pod
      ? `pod ${s.pod.name} ${s.pod.state}${containers ? ` (${containers})` : ''}`
      : `no pod; left over: ${s.volumes.length} volume(s), ${s.secrets.length} secret(s) (jh-slurm-pod down ${s.environment})`
    const tunnel = s.tunnel
      ? `; tunnel ${s.tunnel.connected ? 'connected' : 'not connected'} (pod ${s.tunnel.server} ${s.tunnel.state})`
      : ''
    return [s.environment, s.url ?? '-', `${what}${tunnel}`, ...formatNodes(s.nodes ?? []).map((l) => `\n${l}`)]
  })
  const widths = [0, 1].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)))
  return `${rows
    .map(
      (r) =>
        `${(r[0] as string).padEnd(widths[0] as number)}  ${(r[1] as string).padEnd(widths[1] as number)}  ${r.slice(2).join('')}`,
    )
    .join('\n')}\n`
}
