// Starting the pod and waiting for the hub to answer.
import { recordUp, type UpRecordInput } from '../lib/applied.ts'
import { seedVersionFiles } from '../lib/dev-mounts.ts'
import { baseUrlOf } from '../lib/base-url.ts'
import { waitForHub as waitForHubAnswer } from '../lib/containers.ts'
import { UserError } from '../lib/errors.ts'
import { containerName, ENV_LABEL, hubUrl, networkName, SLURM_READY } from '../lib/names.ts'
import { podman, podmanSucceeds } from '../lib/podman.ts'
import { pollUntil } from '../lib/wait.ts'
import type { RepoPaths } from '../lib/paths.ts'
import { playManifest } from '../lib/play.ts'
import { waitForNodes } from '../lib/nodes.ts'
import { writeSecretFile } from '../lib/secret-file.ts'
import type { UpPlan } from '../lib/up-plan.ts'
import { produced, stopIfInterrupted, type Task, type UpContext } from './context.ts'

export async function startPod(plan: UpPlan, repo: RepoPaths, ctx: UpContext, task: Task): Promise<void> {
  const file = produced(ctx.manifestFile, 'the manifest')
  const { env, repos, builds, options } = plan
  await seedVersionFiles(repos, builds)
  ctx.podStarted = Date.now()
  // The stand-in Nadir server's pod (docs/nadir.md) and Slurm's nodes share a network of the environment's with the hub's.
  const ownNetwork = Boolean(plan.server) || plan.nodes.length > 0
  const network = ownNetwork ? networkName(env.names) : options.network
  if (ownNetwork) await podman(['network', 'create', '--label', `${ENV_LABEL}=${env.name}`, networkName(env.names)])
  await playManifest(file, (line) => (task.output = line), network)
  const password = ctx.secrets?.devLoginPassword
  if (password) await writeSecretFile(repo.devLoginPasswordFile(env.name), `${password}\n`)
  // What the pod was made from, as read before the builds: the starting point of the next `apply`.
  await recordUp(upRecordInput(plan, repo), produced(ctx.sources, 'the record of the sources'))
}

/** What `up` records of an environment (lib/applied.ts). */
export const upRecordInput = (plan: UpPlan, repo: RepoPaths): UpRecordInput => ({
  env: plan.env,
  readsDevUsers: plan.use.configMaps.includes('devUsers'),
  repos: plan.repos,
  builds: plan.builds,
  build: plan.options.build,
  deployConfig: plan.options.deployConfig,
  repo,
})

/** Waits for the hub's health URL; a hub that stops or restarts fails the wait at once, its log's reasons noted for after the list. */
export async function waitForHub(plan: UpPlan, ctx: UpContext): Promise<void> {
  const since = new Date((ctx.podStarted ?? Date.now()) - 1000)
  const health = new URL('hub/health', hubUrl(plan.ports.proxy, baseUrlOf(plan.deployConfig))).toString()
  const hub = containerName(plan.env.names, 'jupyterhub')
  const timeoutMs = plan.options.waitSeconds * 1000
  // When one wait fails, the other stops too: a hub that cannot start fails `up` at once. So does an interrupt.
  const stop = new AbortController()
  ctx.interruption?.signal.addEventListener('abort', () => stop.abort())
  const stopOnFailure = (error: unknown) => {
    stop.abort()
    throw error
  }
  await Promise.all([
    waitForHubAnswer(hub, health, since, timeoutMs, (text) => ctx.notes.push(text), 'up', stop.signal).catch(
      stopOnFailure,
    ),
    // Meanwhile the pod's Slurm, where it has one: a spawn needs its users and their accounts, and its nodes.
    plan.use.images.includes('slurm')
      ? waitForSlurm(containerName(plan.env.names, 'slurm'), timeoutMs, stop.signal)
          .then(() => waitForNodes(plan.env.names, plan.nodes.length, timeoutMs, stop.signal))
          .catch(stopOnFailure)
      : undefined,
  ])
  stopIfInterrupted(ctx)
}

/** Waits until the Slurm container says it is ready (start-slurm-pod: users, accounts, sshd). */
export async function waitForSlurm(slurm: string, timeoutMs: number, stop?: AbortSignal): Promise<void> {
  const { value } = await pollUntil(
    timeoutMs,
    async () =>
      stop?.aborted || ((await podmanSucceeds(['exec', slurm, 'test', '-e', SLURM_READY])) ? true : undefined),
    250,
  )
  if (stop?.aborted) return
  if (!value)
    throw new UserError(
      `the Slurm container did not get ready within ${timeoutMs / 1000} s (podman logs ${slurm}; jh-slurm-pod logs <env> slurm)`,
    )
}
