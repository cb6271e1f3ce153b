// A podman image store of the benchmark's own. The original launcher builds
// and runs localhost/brics_*:dev-latest, the names the real images have: in
// a store of its own it replaces nothing of the user's. Ours runs there too,
// so that both work on the same store. Its network configurations are its
// own too: root's podman keeps them apart from stores, and an environment's
// network shared with the default store would be removed under a pod there.
import fs from 'node:fs'
import path from 'node:path'
import { timed } from './timed.ts'

const storeCommand = (dir: string, podman: string[]) => [
  ...podman,
  '--root',
  path.join(dir, 'root'),
  '--runroot',
  path.join(dir, 'run'),
  '--network-config-dir',
  path.join(dir, 'networks'),
]

/** Removes the store with whatever pods a failed run left in it (their mounts would outlive the files). */
export async function removeStore(dir: string, podman: string[]): Promise<void> {
  if (!fs.existsSync(dir)) return
  await timed([...storeCommand(dir, podman), 'pod', 'rm', '--all', '--force', '--time', '0'], { cwd: dir }).catch(
    () => undefined,
  )
  await timed([...storeCommand(dir, podman), 'network', 'prune', '--force'], { cwd: dir }).catch(() => undefined)
  fs.rmSync(dir, { recursive: true, force: true })
}

/** Makes a store under `dir` holding only `images` (copied from the default store); its podman command. */
export async function scratchStore(dir: string, podman: string[], images: string[]): Promise<string[]> {
  await removeStore(dir, podman)
  fs.mkdirSync(path.join(dir, 'networks'), { recursive: true })
  const archive = path.join(dir, 'images.tar')
  const store = storeCommand(dir, podman)
  await timed([...podman, 'save', '--multi-image-archive', '--output', archive, ...images], { cwd: dir })
  await timed([...store, 'load', '--input', archive], { cwd: dir })
  fs.rmSync(archive)
  return store
}
