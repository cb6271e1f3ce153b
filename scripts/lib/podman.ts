// The podman command. JH_SLURM_PODMAN may name another binary or a command
// with arguments (split on white space), e.g. `podman-remote`, or a podman
// inside a chroot: `chroot /srv/podman-root podman`.
import { UserError } from './errors.ts'
import { exec, type ExecOptions, type ExecResult } from './exec.ts'

export const MIN_PODMAN_VERSION = '4.4.0'

export function podmanCommand(vars: NodeJS.ProcessEnv = process.env): string[] {
  const words = (vars.JH_SLURM_PODMAN ?? '').trim().split(/\s+/).filter(Boolean)
  return words.length ? words : ['podman']
}

export function podman(args: string[], options?: ExecOptions): Promise<ExecResult> {
  return exec([...podmanCommand(), ...args], options)
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

/** Fails with what to do when podman is missing or too old; returns its version. */
export async function checkPodman(): Promise<string> {
  const command = podmanCommand().join(' ')
  const result = await podman(['version', '--format', '{{.Client.Version}}'], { nothrow: true })
  if (result.exitCode !== 0) {
    const reason = result.exitCode === 127 ? 'not found' : result.stderr.trim().split('\n').pop()
    throw new UserError(
      `podman is not usable (${command}: ${reason}); install podman ${MIN_PODMAN_VERSION} or newer, or set JH_SLURM_PODMAN`,
    )
  }
  const version = result.stdout.trim()
  if (compareVersions(version, MIN_PODMAN_VERSION) < 0) {
    throw new UserError(
      `podman ${version} is too old (need ${MIN_PODMAN_VERSION} or newer for kube play with subPath and secret volumes)`,
    )
  }
  return version
}
