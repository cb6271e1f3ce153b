// A podman image store of a test's own (podman --root/--runroot), empty: for
// what acts on everything podman holds (`down --all`, "nothing is left"),
// which in the default store would reach a developer's environments too.
import fs from 'node:fs'
import path from 'node:path'
import { exec } from '../../../scripts/lib/exec.ts'
import { podmanCommand } from '../../../scripts/lib/podman.ts'

export interface ScratchPodman {
  /** The podman command of the store, for JH_SLURM_PODMAN. */
  command: string[]
  run(args: string[]): Promise<string>
  remove(): Promise<void>
}

/** Makes an empty store under `dir` (inside the repository: podman may run in another mount namespace). */
export async function scratchPodman(dir: string): Promise<ScratchPodman> {
  const command = [...podmanCommand(), '--root', path.join(dir, 'root'), '--runroot', path.join(dir, 'run')]
  const remove = async () => {
    if (!fs.existsSync(dir)) return
    await exec([...command, 'pod', 'rm', '--all', '--force', '--time', '0'], { nothrow: true })
    await exec([...command, 'volume', 'rm', '--all', '--force'], { nothrow: true })
    await exec([...command, 'secret', 'rm', '--all'], { nothrow: true })
    fs.rmSync(dir, { recursive: true, force: true })
  }
  await remove()
  fs.mkdirSync(dir, { recursive: true })
  const run = async (args: string[]) => (await exec([...command, ...args])).stdout.trim()
  return { command, run, remove }
}
