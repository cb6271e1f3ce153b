// Changing one container of a running pod: restart it, or replace it with
// one on a new image or with new ConfigMap values, keeping everything else
// of the pod (volumes, secrets, ports, the other container).
import { UserError } from './errors.ts'
import { podman } from './podman.ts'
import { pollUntil } from './wait.ts'

interface InspectMount {
  Type: string
  Name?: string
  Source: string
  Destination: string
  RW: boolean
  SubPath?: string
}

interface InspectContainer {
  /** The image's ID, and the name it was created from. */
  Image: string
  ImageName: string
  Pod: string
  RestartCount?: number
  Mounts: InspectMount[]
  HostConfig?: { RestartPolicy?: { Name?: string }; Init?: boolean }
  State: { Status: string }
}

export async function inspectContainer(name: string): Promise<InspectContainer> {
  const [info] = JSON.parse((await podman(['container', 'inspect', name])).stdout) as InspectContainer[]
  if (!info) throw new UserError(`container ${name} not found`)
  return info
}

/** The --mount option that gives a new container the same mount (named volumes with subpaths, binds). */
export function mountOption(mount: InspectMount): string {
  const ro = mount.RW ? '' : ',ro=true'
  if (mount.Type === 'bind') return `type=bind,source=${mount.Source},destination=${mount.Destination}${ro}`
  const sub = mount.SubPath ? `,subpath=${mount.SubPath}` : ''
  return `type=volume,source=${mount.Name},destination=${mount.Destination}${sub}${ro}`
}

/**
 * How long a container may take to stop before it is killed. A healthy hub
 * stops in a moment; one still reading its configuration (or failing to)
 * runs as PID 1 without its signal handlers and ignores SIGTERM.
 */
const STOP_SECONDS = 3

export interface Replacement {
  /** The image of the new container (default: the very image the old one runs). */
  image?: string
  /** Its environment from the ConfigMaps (the image's own comes with the image). */
  env: Record<string, string>
  /** The command, where the pod gives one instead of the image's (dev_realauth's issuer and front). */
  command?: string[]
}

/** `podman create` of a container like `old`, in the same pod, under `name`. */
export function createArgs(name: string, old: InspectContainer, replacement: Replacement): string[] {
  return [
    'create',
    '--pod',
    old.Pod,
    '--name',
    name,
    '--restart',
    old.HostConfig?.RestartPolicy?.Name || 'always',
    // The pod's init process (its io.podman.annotations.init/<container>), kept.
    ...(old.HostConfig?.Init ? ['--init'] : []),
    ...Object.entries(replacement.env).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
    ...old.Mounts.flatMap((mount) => ['--mount', mountOption(mount)]),
    replacement.image ?? old.Image,
    ...(replacement.command ?? []),
  ]
}

/**
 * Replaces a container of a running pod: the new one is created beside it,
 * the old one stops (a hub stops cleanly: its servers keep running), then the
 * new one takes the old name and starts. What is to outlive it is in volumes
 * (the users' homes: the volume slurm-homes-<env>).
 */
export async function replaceContainer(name: string, replacement: Replacement): Promise<void> {
  const old = await inspectContainer(name)
  const next = `${name}-next`
  await podman(['rm', '--force', '--ignore', next])
  await podman(createArgs(next, old, replacement))
  await podman(['stop', '--time', String(STOP_SECONDS), name])
  await podman(['rm', '--force', name])
  await podman(['rename', next, name])
  await podman(['start', name])
}

export async function restartContainer(name: string): Promise<void> {
  await podman(['restart', '--time', String(STOP_SECONDS), name])
}

/** The hub image's script that restarts the hub in place (brics_jupyterhub/container-scripts). */
const RESTART_HUB = '/usr/local/bin/restart-jupyterhub'

/**
 * Restarts the hub inside its container: no podman stop and start, and the
 * SSH connections the hub keeps open to the login node stay (see
 * docs/benchmark.md, "apply"). Returns once the old hub has exited. A hub
 * image without the script (built before it) gets its container restarted.
 */
export async function restartHub(name: string): Promise<void> {
  const run = await podman(['exec', name, RESTART_HUB], { nothrow: true })
  if (run.exitCode === 0) return
  // 127: no such script in this image; anything else (the hub not running, say): restart it as a whole.
  await restartContainer(name)
}

/**
 * The part of a hub log that says why it stopped: from the last error or
 * traceback on (a hub that keeps failing says the same each time), at most
 * `max` lines; the shutdown of the hub that was restarted is not it.
 */
export function whyHubFailed(log: string, max = 40): string[] {
  const lines = log.split('\n').filter((l) => l.trim() && !/Received signal SIGTERM/.test(l))
  const starts = lines.flatMap((l, i) => (/^\s*\[[EC] |^\s*Traceback/.test(l) ? [i] : []))
  const last = starts.at(-1)
  // A traceback belongs to the error line right before it.
  const from = last === undefined ? Math.max(0, lines.length - 20) : starts.includes(last - 1) ? last - 1 : last
  return lines.slice(from, from + max)
}

/** What a wait for the hub is part of: `apply` leaves the environment up when it fails; `up` takes it down. */
export type HubWaitFor = 'up' | 'apply'

const HUB_STOPPED: Record<HubWaitFor, string> = {
  up: 'the hub stopped before it answered (its log above says why)',
  apply:
    'the hub did not come back: it stopped (see its log above); the environment stays up: fix the cause and apply again',
}

/**
 * The one wait for the hub, for `up` and `apply`: until it answers
 * `healthUrl`. Fails as soon as its container stops or restarts (the hub
 * exited, say on a configuration error), with the hub's log lines since
 * `since` that say why, rather than waiting out the time.
 */
export async function waitForHub(
  name: string,
  healthUrl: string,
  since: Date,
  timeoutMs: number,
  note: (text: string) => void,
  waitFor: HubWaitFor = 'apply',
  stop?: AbortSignal,
): Promise<void> {
  const startCount = (await inspectContainer(name)).RestartCount ?? 0
  let checks = 0
  const { value } = await pollUntil(
    timeoutMs,
    async () => {
      if (stop?.aborted) return 'stopped'
      if (++checks % 4 === 0) {
        const info = await inspectContainer(name)
        if (info.State.Status !== 'running' || (info.RestartCount ?? 0) > startCount) return 'failed'
      }
      const answer = await fetch(healthUrl, { signal: AbortSignal.timeout(2000) }).catch(() => undefined)
      return answer?.ok ? 'up' : undefined
    },
    100,
  )
  if (value === 'up' || value === 'stopped') return
  const logs = await podman(['logs', '--since', since.toISOString(), name], { nothrow: true })
  const why = whyHubFailed(`${logs.stdout}\n${logs.stderr}`)
  if (why.length) note(`the hub log says:\n${why.map((l) => `  ${l}`).join('\n')}`)
  const timedOut = `the hub did not answer ${healthUrl} within ${timeoutMs / 1000} s`
  throw new UserError(
    value === 'failed'
      ? HUB_STOPPED[waitFor]
      : waitFor === 'apply'
        ? `${timedOut}; the environment stays up (jh-slurm-pod logs <env> hub)`
        : timedOut,
  )
}
