// Tearing environments down: whatever of them exists, in a few batched
// podman calls, carrying on past anything already gone, so that it works from
// any partial state and can be run again.
import fs from 'node:fs'
import readline from 'node:readline/promises'
import { listEnvironments, validEnvironmentName } from './environment.ts'
import { UsageError, UserError } from './errors.ts'
import {
  environmentsUp,
  type Inventory,
  lines,
  parsePodPs,
  present,
  type Resource,
  resourcesOf,
  takeInventory,
  type UpEnvironment,
} from './inventory.ts'
import { acquireLock } from './lock.ts'
import { LEGACY, type ResourceNames } from './names.ts'
import { allNodePodNames } from './nodes.ts'
import type { RepoPaths } from './paths.ts'
import { checkPodman, podman, podmanSucceeds } from './podman.ts'

type Report = (resources: Resource[]) => void

/**
 * Stops the pods, then removes them; passes over any that is gone. Two calls
 * take less time than one `pod rm --force` of a running pod, which stops the
 * containers more slowly than `pod stop` does (docs/benchmark.md).
 */
/**
 * Stops the pods, then removes each; returns the names of those removed
 * (`pod rm` prints the ID of each pod it removed, nothing for a missing one).
 */
async function stopAndRemovePods(pods: string[]): Promise<string[]> {
  await podman(['pod', 'stop', '--ignore', '--time', '10', ...pods])
  const removed = await Promise.all(
    pods.map(async (name) =>
      (await podman(['pod', 'rm', '--force', '--ignore', '--time', '10', name])).stdout.trim() ? [name] : [],
    ),
  )
  return removed.flat()
}

/** Removes the volumes and secrets named, in two podman calls at once. */
async function removeVolumesAndSecrets(volumes: string[], secrets: string[]): Promise<void> {
  await Promise.all([
    volumes.length ? podman(['volume', 'rm', '--force', ...volumes]) : undefined,
    secrets.length ? podman(['secret', 'rm', ...secrets]) : undefined,
  ])
}

/** Reports the volumes and secrets removed in removal order: the secrets' volumes after the secrets. */
function reportVolumesAndSecrets(targets: ResourceNames[], volumes: string[], secrets: string[], report: Report) {
  const isSecretName = new Set(targets.flatMap((t) => Object.values(t.secrets)))
  report(volumes.filter((v) => !isSecretName.has(v)).map((name) => ({ kind: 'volume', name })))
  report(secrets.map((name) => ({ kind: 'secret', name })))
  report(volumes.filter((v) => isSecretName.has(v)).map((name) => ({ kind: 'volume', name })))
}

/**
 * Removes what of `targets` the inventory lists: pods first, then volumes and
 * secrets at once. Should removing a pod have taken any of the others with
 * it, they are looked up again and the rest removed.
 */
async function removeListed(targets: ResourceNames[], inventory: Inventory, report: Report): Promise<void> {
  const wanted = targets.flatMap(resourcesOf)
  const pods = wanted.filter((r) => r.kind === 'pod' && present(inventory, r))
  if (pods.length) {
    await stopAndRemovePods(pods.map((r) => r.name))
    report(pods)
  }
  const existing = (kind: 'volume' | 'secret', from: Inventory) => [
    ...new Set(wanted.filter((r) => r.kind === kind && present(from, r)).map((r) => r.name)),
  ]
  const volumes = existing('volume', inventory)
  const secrets = existing('secret', inventory)
  try {
    await removeVolumesAndSecrets(volumes, secrets)
  } catch (error) {
    if (!pods.length) throw error
    const now = await takeInventory()
    await removeVolumesAndSecrets(existing('volume', now), existing('secret', now))
  }
  reportVolumesAndSecrets(targets, volumes, secrets, report)
  // A network goes once no pod is on it.
  const networks = wanted.filter((r) => r.kind === 'network' && present(inventory, r))
  if (networks.length) {
    await podman(['network', 'rm', '--force', ...networks.map((r) => r.name)])
    report(networks)
  }
}

/**
 * Removes the environment's secrets that exist; returns their names, or none
 * when removing failed. Listed first, as `secret rm` answers with ids, not
 * the names to report.
 */
async function removeSecrets(target: ResourceNames): Promise<{ secrets: string[]; failed: boolean }> {
  const listed = new Set(lines((await podman(['secret', 'ls', '--format', '{{.Name}}'])).stdout))
  const secrets = Object.values(target.secrets).filter((name) => listed.has(name))
  if (!secrets.length) return { secrets, failed: false }
  const removed = await podman(['secret', 'rm', ...secrets], { nothrow: true })
  return removed.exitCode === 0 ? { secrets, failed: false } : { secrets: [], failed: true }
}

/** Removes a podman network if it exists; true when it is still there. */
async function removeNetwork(name: string, report: Report): Promise<boolean> {
  if (await podmanSucceeds(['network', 'exists', name])) {
    const rm = await podman(['network', 'rm', '--force', name], { nothrow: true })
    if (rm.exitCode !== 0) return true
    report([{ kind: 'network', name }])
  }
  return false
}

/** The environment's node pods that exist (a listing of those alone: there can be up to eight). */
async function existingNodePods(target: ResourceNames): Promise<string[]> {
  const listed = await podman(['pod', 'ps', '--format', 'json', '--filter', `name=^${target.pod}-node-`])
  const names = new Set(allNodePodNames(target))
  return parsePodPs(listed.stdout)
    .map((p) => p.name)
    .filter((name) => names.has(name))
}

/**
 * Removes one environment by its names without listing pods and volumes
 * first (only its node pods are listed): `pod rm --ignore` and `volume rm --force` pass over what is gone and
 * say what they removed. The secrets go while the pod stops (a container
 * holds its own copy of a secret); the volumes once the pod is gone. Returns
 * false when something was left (reported so far: what is known to be
 * removed).
 */
async function removeByName(target: ResourceNames, report: Report): Promise<boolean> {
  // Both finish before a failure is passed on: the listing that follows one must not race them.
  const nodes = allNodePodNames(target)
  const pods = [
    ...resourcesOf(target).flatMap((r) => (r.kind === 'pod' && !nodes.includes(r.name) ? [r.name] : [])),
    ...(await existingNodePods(target)),
  ]
  const [podRm, secretsRm] = await Promise.allSettled([stopAndRemovePods(pods), removeSecrets(target)])
  if (podRm.status === 'rejected') throw podRm.reason
  if (secretsRm.status === 'rejected') throw secretsRm.reason
  const [podsGone, secretRm] = [podRm.value, secretsRm.value]
  report(podsGone.map((name) => ({ kind: 'pod', name })))
  const volumes = [...new Set(resourcesOf(target).flatMap((r) => (r.kind === 'volume' ? [r.name] : [])))]
  const volumeRm = await podman(['volume', 'rm', '--force', ...volumes], { nothrow: true })
  const gone = new Set(lines(volumeRm.stdout))
  reportVolumesAndSecrets(
    [target],
    volumes.filter((v) => gone.has(v)),
    secretRm.secrets,
    report,
  )
  // The network of dev_realauth_nadir's two pods, where there is one: listed, as `network rm` of a missing one fails.
  const network = resourcesOf(target).find((r) => r.kind === 'network')
  const networkLeft = network ? await removeNetwork(network.name, report) : false
  // Exit 1 of `volume rm` says only that some volume did not exist (podman-volume-rm(1)).
  return volumeRm.exitCode <= 1 && !secretRm.failed && !networkLeft
}

/**
 * Removes whatever of `targets` exists, in a few batched podman calls, and
 * returns what was removed. One environment is removed by name; several, or
 * one whose removal by name fell short, by what a listing finds.
 */
export async function teardown(
  repo: RepoPaths,
  targets: ResourceNames[],
  options: { onLine?: (line: string) => void; inventory?: Inventory } = {},
): Promise<Resource[]> {
  const removed: Resource[] = []
  const report: Report = (resources) => {
    for (const r of resources) options.onLine?.(`removed ${r.kind} ${r.name}`)
    removed.push(...resources)
  }
  const [only] = targets
  const byName = targets.length === 1 && only !== undefined && !options.inventory
  const finished = byName && (await removeByName(only, report).catch(() => false))
  if (!finished) {
    // Should the removal by name have failed, a podman that is missing or too old is what is reported.
    if (byName) await checkPodman()
    await removeListed(targets, options.inventory ?? (await takeInventory()), report)
  }
  for (const target of targets) fs.rmSync(repo.devLoginPasswordFile(target.env), { force: true })
  return removed
}

/** The environments that have anything in podman now. */
export async function environmentsUpNow(repo: RepoPaths): Promise<{ inventory: Inventory; up: UpEnvironment[] }> {
  const inventory = await takeInventory()
  return { inventory, up: environmentsUp(inventory, listEnvironments(repo)) }
}

export const label = (e: UpEnvironment) => (e.names.env === LEGACY ? `${LEGACY} of an earlier version` : e.names.env)

async function ask(up: UpEnvironment[]): Promise<UpEnvironment[]> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
  try {
    process.stderr.write(`several environments are up:\n${up.map((e, i) => `  ${i + 1}) ${label(e)}`).join('\n')}\n`)
    const answer = (await rl.question(`remove which? [1-${up.length}, all, or nothing to cancel] `)).trim()
    if (answer === 'all') return up
    const chosen = up[Number(answer) - 1]
    if (!/^\d+$/.test(answer) || !chosen) throw new UserError('cancelled: nothing removed')
    return [chosen]
  } finally {
    rl.close()
  }
}

/** Which environments `down` removes, from its arguments and what is up; none when the one named is not up. */
export async function chooseTargets(
  up: UpEnvironment[],
  request: { env?: string; all: boolean },
  known: string[],
  interactive: boolean,
): Promise<UpEnvironment[]> {
  if (request.all) return up
  if (request.env !== undefined) {
    const name = validEnvironmentName(request.env, known)
    const target = up.find((e) => e.names.env === name)
    if (target) return [target]
    if (!known.includes(name))
      throw new UsageError(`unknown environment "${name}"; environments: ${known.join(', ') || 'none found'}`)
    return []
  }
  if (up.length <= 1) return up
  if (interactive) return ask(up)
  throw new UsageError(
    `several environments are up (${up.map(label).join(', ')}); name one (jh-slurm-pod down <env>) or remove them all (jh-slurm-pod down --all)`,
  )
}

/** Takes the lock of each environment (not of the old fixed names, which had one of their own). */
export function lockAll(repo: RepoPaths, envNames: string[]): () => void {
  const releases: Array<() => void> = []
  try {
    for (const name of envNames) if (name !== LEGACY) releases.push(acquireLock(repo.lockFile(name), 'down'))
  } catch (error) {
    for (const release of releases) release()
    throw error
  }
  return () => {
    for (const release of releases) release()
  }
}
