// Step: tear the environment down. Carries on past anything already gone,
// so it works from any partial state and can be run again.
import fs from 'node:fs/promises'
import { parseCommandLine } from './lib/cli.ts'
import { runStep } from './lib/main.ts'
import { withLock } from './lib/lock.ts'
import { POD, SECRETS, VOLUMES } from './lib/names.ts'
import { repoPaths } from './lib/paths.ts'
import { checkPodman, podman, podmanSucceeds } from './lib/podman.ts'

export interface Resource {
  kind: 'pod' | 'volume' | 'secret'
  name: string
}

/** Everything `up` can create, in the order it is removed. */
export function environmentResources(): Resource[] {
  return [
    { kind: 'pod', name: POD },
    ...Object.values(VOLUMES).map((name) => ({ kind: 'volume' as const, name })),
    ...Object.values(SECRETS).map((name) => ({ kind: 'secret' as const, name })),
    // Older podman made a volume for each Secret a pod mounted.
    ...Object.values(SECRETS).map((name) => ({ kind: 'volume' as const, name })),
  ]
}

const existsArgs = (r: Resource): string[] =>
  r.kind === 'secret' ? ['secret', 'inspect', r.name] : [r.kind, 'exists', r.name]

const removeArgs = (r: Resource): string[] => {
  switch (r.kind) {
    case 'pod':
      return ['pod', 'rm', '--force', '--time', '10', r.name]
    case 'volume':
      return ['volume', 'rm', '--force', r.name]
    case 'secret':
      return ['secret', 'rm', r.name]
  }
}

export async function resourceExists(r: Resource): Promise<boolean> {
  return podmanSucceeds(existsArgs(r))
}

/** The environment's resources that exist now. */
export async function existingResources(): Promise<Resource[]> {
  const all = environmentResources()
  const present = await Promise.all(all.map(resourceExists))
  return all.filter((_, i) => present[i])
}

/**
 * Removes whatever exists; returns what was removed. Each resource is looked
 * up just before its removal, since removing one (the pod) may take others.
 */
export async function teardown(onLine?: (line: string) => void, root?: string): Promise<Resource[]> {
  const removed: Resource[] = []
  for (const resource of environmentResources()) {
    if (!(await resourceExists(resource))) continue
    await podman(removeArgs(resource))
    removed.push(resource)
    onLine?.(`removed ${resource.kind} ${resource.name}`)
  }
  await fs.rm(repoPaths(root).devLoginPasswordFile, { force: true })
  return removed
}

export const cli = {
  command: 'down',
  summary: 'Stop and remove the pod, its volumes and its secrets. Safe to run again; exits 0 when nothing is left.',
  options: {},
} as const

runStep(import.meta.url, async () => {
  parseCommandLine(cli)
  await checkPodman()
  const removed = await withLock(repoPaths().lockFile, 'down', () => teardown((line) => console.log(line)))
  if (removed.length === 0) console.log('nothing to remove: no pod, volume or secret of the environment exists')
})
