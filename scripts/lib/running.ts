// What of an environment runs now: `logs` and `apply` work on an
// environment that is up, and say so in one line when it is not.
import { spawn } from 'node:child_process'
import { UserError } from './errors.ts'
import type { Environment } from './environment.ts'
import { containerName, PORT_LABEL } from './names.ts'
import { podman, podmanCommand } from './podman.ts'

export type ContainerKey = 'jupyterhub' | 'slurm'

/** The state of each of the pod's containers (running, exited, ...), by container key. */
export type PodContainers = Partial<Record<ContainerKey, string>>

export interface RunningPod {
  id: string
  containers: PodContainers
  /** The names of all the pod's containers (the development issuer's and the login front's among them). */
  containerNames: string[]
  /** The proxy's host port (the pod's label). */
  hostPort?: number
}

interface PodPsJson {
  Id: string
  Name: string
  Labels?: Record<string, string> | null
  Containers?: Array<{ Names: string; Status: string }> | null
}

/** The environment's pod and its containers' states; a one-line error when it is not up. */
export async function requireUp(env: Environment): Promise<RunningPod> {
  const listing = await podman(['pod', 'ps', '--filter', `name=${env.names.pod}`, '--format', 'json'])
  const pod = ((JSON.parse(listing.stdout || '[]') ?? []) as PodPsJson[]).find((p) => p.Name === env.names.pod)
  if (!pod) throw new UserError(`environment ${env.name} is not up; bring it up with \`jh-slurm-pod up ${env.name}\``)
  const containers: PodContainers = {}
  for (const c of pod.Containers ?? [])
    for (const key of ['jupyterhub', 'slurm'] as const)
      if (c.Names === containerName(env.names, key)) containers[key] = c.Status
  const port = Number(pod.Labels?.[PORT_LABEL])
  const containerNames = (pod.Containers ?? []).map((c) => c.Names)
  return { id: pod.Id, containers, containerNames, hostPort: Number.isInteger(port) && port > 0 ? port : undefined }
}

/**
 * Runs podman with its output going straight to ours (logs can be long, or
 * followed until Ctrl-C); resolves with its exit code.
 */
export function podmanPassThrough(args: string[]): Promise<number> {
  const [command, ...rest] = podmanCommand()
  return new Promise((resolve, reject) => {
    const child = spawn(command as string, [...rest, ...args], { stdio: ['ignore', 'inherit', 'inherit'] })
    // Ctrl-C reaches podman too (same process group); a signal sent to this
    // process alone is passed on. Either way podman's end is ours, and an
    // interrupt's exit code (podman itself says 1 when interrupted).
    let received: NodeJS.Signals | undefined
    const passOn = (signal: NodeJS.Signals) => {
      received ??= signal
      child.kill(signal)
    }
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, passOn)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.off(signal, passOn)
      const ended = received ?? signal
      resolve(ended === 'SIGINT' ? 130 : ended === 'SIGTERM' ? 143 : (code ?? 1))
    })
  })
}
