// A podman image store of a test's own (podman --root/--runroot), empty: for
// what acts on everything podman holds (`down --all`, "nothing is left"),
// which in the default store would reach a developer's environments too.
import fs from 'node:fs'
import path from 'node:path'
import { exec } from '../../../scripts/lib/exec.ts'
import { podmanCommand } from '../../../scripts/lib/podman.ts'

/** podman commands that empty a store of what environments make (pods and their containers first); images stay. */
export const EMPTY_STORE: string[][] = [
  ['pod', 'rm', '--all', '--force', '--time', '0'],
  ['rm', '--all', '--force', '--time', '0'],
  ['volume', 'rm', '--all', '--force'],
  ['secret', 'rm', '--all'],
  ['network', 'prune', '--force'],
]

export interface ScratchPodman {
  /** The podman command of the store, for JH_SLURM_PODMAN. */
  command: string[]
  run(args: string[]): Promise<string>
  remove(): Promise<void>
}

/**
 * Makes an empty store under `dir` (inside the repository: podman may run in
 * another mount namespace), with its own network configurations: root's
 * podman keeps those apart from the store, so a `down --all` in the scratch
 * store removed the network of an environment up in the default one, whose
 * pod, removed later, left its firewall rules and DNS entries behind
 * (netavark tears them down from the network's configuration).
 */
export async function scratchPodman(dir: string): Promise<ScratchPodman> {
  const command = [
    ...podmanCommand(),
    ...['--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run')],
    ...['--network-config-dir', path.join(dir, 'networks')],
  ]
  const remove = async () => {
    if (!fs.existsSync(dir)) return
    for (const args of EMPTY_STORE) await exec([...command, ...args], { nothrow: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
  await remove()
  fs.mkdirSync(path.join(dir, 'networks'), { recursive: true })
  const run = async (args: string[]) => (await exec([...command, ...args])).stdout.trim()
  return { command, run, remove }
}
