// The podman command. JH_SLURM_PODMAN may name another binary or a command
// with arguments (split on white space), e.g. `podman-remote`, or a podman
// inside a chroot: `chroot /srv/podman-root podman`.
import { CommandError, UserError } from './errors.ts'
import { exec, type ExecOptions, type ExecResult } from './exec.ts'

export const MIN_PODMAN_VERSION = '4.4.0'

export function podmanCommand(vars: NodeJS.ProcessEnv = process.env): string[] {
  const words = (vars.JH_SLURM_PODMAN ?? '').trim().split(/\s+/).filter(Boolean)
  return words.length ? words : ['podman']
}

export function podman(args: string[], options?: ExecOptions): Promise<ExecResult> {
  return exec([...podmanCommand(), ...args], options).catch((error: unknown) => {
    throw remoteLimit(error)
  })
}

/** A command podman's remote client does not offer, said in one line (podman's own message names it). */
export function remoteLimit(error: unknown): unknown {
  const lacking =
    error instanceof CommandError && /cannot use command "([^"]+)" with the remote podman client/.exec(error.stderr)
  if (!lacking) return error
  return new UserError(
    `${lacking[1]} is not offered by podman's remote client (JH_SLURM_PODMAN=${podmanCommand().join(' ')}); see docs/remote-podman.md`,
  )
}

/** True when `podman <args>` exits 0 (for `exists`-style queries). */
export async function podmanSucceeds(args: string[]): Promise<boolean> {
  return (await podman(args, { nothrow: true })).exitCode === 0
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0)
  const pb = b.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0)
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

/**
 * Runs `work` (which calls podman); should it fail, a podman that is missing
 * or too old is what gets reported, not the failure it caused. The version
 * is asked only then, so that a command that works costs no extra call.
 */
export async function withPodman<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    await checkPodman()
    throw error
  }
}

/** What the one `podman version` call of a run says about the podman it talks to (the run passes it on). */
export interface PodmanInfo {
  /** The version that decides what works: the server's for a remote client. */
  version: string
  /** A remote client (podman machine on macOS, `--remote`, CONTAINER_HOST): no `volume import`, see docs/remote-podman.md. */
  remote: boolean
}

/** The client's version, then the server's when the client is remote (a local podman reports no server). */
const VERSION_FORMAT = '{{.Client.Version}}{{if .Server}} {{.Server.Version}}{{end}}'

/** Fails with what to do when podman is missing or too old; returns its version. */
export async function checkPodman(): Promise<string> {
  return (await probePodman()).version
}

/** Asks podman its version and whether it is a remote client; fails as checkPodman does. */
export async function probePodman(): Promise<PodmanInfo> {
  const command = podmanCommand().join(' ')
  const result = await podman(['version', '--format', VERSION_FORMAT], { nothrow: true })
  if (result.exitCode !== 0) {
    const reason = result.exitCode === 127 ? 'not found' : result.stderr.trim().split('\n').pop()
    throw new UserError(
      `podman is not usable (${command}: ${reason}); install podman ${MIN_PODMAN_VERSION} or newer, or set JH_SLURM_PODMAN`,
    )
  }
  const [client = '', server] = result.stdout.trim().split(/\s+/)
  for (const [version, what] of [
    [client, 'podman'],
    [server, 'the podman service (server side of the remote client)'],
  ] as const) {
    if (version !== undefined && compareVersions(version, MIN_PODMAN_VERSION) < 0)
      throw new UserError(
        `${what} ${version} is too old (need ${MIN_PODMAN_VERSION} or newer for kube play with subPath and secret volumes)`,
      )
  }
  return { version: server ?? client, remote: server !== undefined }
}
