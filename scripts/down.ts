// Step: tear environments down: `down <env>`, `down --all`, or `down` alone
// for the one environment that is up. Carries on past anything already gone,
// so it works from any partial state and can be run again. Also removes the
// build directories of runs that died.
import fs from 'node:fs'
import readline from 'node:readline/promises'
import { parseCommandLine } from './lib/cli.ts'
import { removeDeadBuildDirs } from './lib/build-dirs.ts'
import { listEnvironments, validEnvironmentName } from './lib/environment.ts'
import { UsageError, UserError } from './lib/errors.ts'
import {
  environmentsUp,
  type Inventory,
  present,
  type Resource,
  resourcesOf,
  takeInventory,
  type UpEnvironment,
} from './lib/inventory.ts'
import { acquireLock } from './lib/lock.ts'
import { runStep } from './lib/main.ts'
import { LEGACY, type ResourceNames } from './lib/names.ts'
import { repoPaths } from './lib/paths.ts'
import { checkPodman, podman } from './lib/podman.ts'

/** Removes the volumes and secrets named, in two podman calls at once. */
async function removeVolumesAndSecrets(volumes: string[], secrets: string[]): Promise<void> {
  await Promise.all([
    volumes.length ? podman(['volume', 'rm', '--force', ...volumes]) : undefined,
    secrets.length ? podman(['secret', 'rm', ...secrets]) : undefined,
  ])
}

/**
 * Removes whatever of `targets` exists, in a few batched podman calls: pods
 * first, then volumes and secrets at once. Should removing a pod have taken
 * any of the others with it, they are looked up again and the rest removed.
 * Returns what was removed.
 */
export async function teardown(
  targets: ResourceNames[],
  onLine?: (line: string) => void,
  root?: string,
  known?: Inventory,
): Promise<Resource[]> {
  const inventory = known ?? (await takeInventory())
  const wanted = targets.flatMap(resourcesOf)
  const removed: Resource[] = []
  const report = (resources: Resource[]) => {
    for (const r of resources) onLine?.(`removed ${r.kind} ${r.name}`)
    removed.push(...resources)
  }
  const pods = wanted.filter((r) => r.kind === 'pod' && present(inventory, r))
  if (pods.length) {
    await podman(['pod', 'rm', '--force', '--time', '10', ...pods.map((r) => r.name)])
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
  // Reported in removal order: the secrets' volumes after the secrets.
  const isSecretName = new Set(targets.flatMap((t) => Object.values(t.secrets)))
  report(volumes.filter((v) => !isSecretName.has(v)).map((name) => ({ kind: 'volume', name })))
  report(secrets.map((name) => ({ kind: 'secret', name })))
  report(volumes.filter((v) => isSecretName.has(v)).map((name) => ({ kind: 'volume', name })))
  const paths = repoPaths(root)
  for (const target of targets) fs.rmSync(paths.devLoginPasswordFile(target.env), { force: true })
  return removed
}

/** The environments that have anything in podman now. */
export async function environmentsUpNow(root?: string): Promise<{ inventory: Inventory; up: UpEnvironment[] }> {
  const inventory = await takeInventory()
  return { inventory, up: environmentsUp(inventory, listEnvironments(root)) }
}

const label = (e: UpEnvironment) => (e.names.env === LEGACY ? `${LEGACY} of an earlier version` : e.names.env)

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

/** Which environments `down` removes, from its arguments and what is up. */
export async function chooseTargets(
  up: UpEnvironment[],
  request: { env?: string; all: boolean },
  known: string[],
  interactive: boolean,
): Promise<UpEnvironment[] | string> {
  if (request.all) return up
  if (request.env !== undefined) {
    const name = validEnvironmentName(request.env, known)
    const target = up.find((e) => e.names.env === name)
    if (target) return [target]
    if (!known.includes(name))
      throw new UserError(`unknown environment "${name}"; environments: ${known.join(', ') || 'none found'}`, 2)
    return `nothing to remove: environment ${name} is not up`
  }
  if (up.length <= 1) return up
  if (interactive) return ask(up)
  throw new UsageError(
    `several environments are up (${up.map(label).join(', ')}); name one (npm run down -- <env>) or remove them all (npm run down -- --all)`,
  )
}

/** Takes the lock of each environment (not of the old fixed names, which had one of their own). */
function lockAll(envs: string[], root?: string): () => void {
  const releases: Array<() => void> = []
  try {
    for (const env of envs) if (env !== LEGACY) releases.push(acquireLock(repoPaths(root).lockFile(env), 'down'))
  } catch (error) {
    for (const release of releases) release()
    throw error
  }
  return () => {
    for (const release of releases) release()
  }
}

export const cli = {
  command: 'down',
  summary:
    'Stop and remove an environment: its pod, volumes and secrets. With no <env>, the one that is up; when several are up, asks which (or fails without a terminal). Also removes build directories of runs that died. Safe to run again; exits 0 when nothing is left.',
  positionals: ['[<env>]'],
  options: {
    all: {
      type: 'boolean',
      description: 'remove every environment that is up, including one made by an earlier version under fixed names',
    },
  },
} as const

runStep('down', async () => {
  const { values, positionals } = parseCommandLine(cli)
  if (values.all && positionals.length) throw new UsageError('give an environment or --all, not both')
  if (positionals.length > 1) throw new UsageError(`one environment at a time, got ${positionals.join(' ')}; or --all`)
  const known = listEnvironments()
  // The version check runs beside the listing; a podman that is missing or too old is what gets reported.
  const [podmanCheck, listing] = await Promise.allSettled([
    checkPodman({ file: repoPaths().podmanVersionCache }),
    environmentsUpNow(),
  ])
  if (podmanCheck.status === 'rejected') throw podmanCheck.reason
  if (listing.status === 'rejected') throw listing.reason
  const { inventory, up } = listing.value
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY)
  const targets = await chooseTargets(up, { env: positionals[0], all: values.all }, known, interactive)
  const log = (line: string) => console.log(line)
  const swept = removeDeadBuildDirs(undefined, log)
  if (typeof targets === 'string') return void console.log(targets)
  if (targets.length === 0) {
    if (swept.length === 0) console.log('nothing to remove: no environment is up')
    return
  }
  const release = lockAll(targets.map((t) => t.names.env))
  try {
    await teardown(
      targets.map((t) => t.names),
      log,
      undefined,
      inventory,
    )
  } finally {
    release()
  }
  for (const target of targets) console.log(`environment ${label(target)} is down`)
})
