// Starting a pod from a combined manifest.
import path from 'node:path'
import { podman } from './podman.ts'

/** `podman kube play`, on `network` when given (a podman network that must exist). */
export async function playManifest(file: string, onLine?: (line: string) => void, network?: string): Promise<void> {
  await podman(['kube', 'play', ...(network ? ['--network', network] : []), path.resolve(file)], { onLine })
}
