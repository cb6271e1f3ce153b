// The tasks of `apply`: each action the plan decided on is one task, in the
// order that keeps the hub's downtime short (builds and copies first, the
// hub's restart last), then the wait for the hub to answer again.
import { Listr, type ListrTask } from 'listr2'
import type { ApplyPlan } from '../lib/apply-plan.ts'
import { writeRecord } from '../lib/applied.ts'
import type { Snapshot } from '../lib/snapshot.ts'
import { replaceContainer, restartHub, waitForHub } from '../lib/containers.ts'
import { baseUrlOf } from '../lib/base-url.ts'
import { deployConfigData } from '../lib/deploy-config.ts'
import { devLoginContainers, resolveIssuer } from '../lib/dev-issuer.ts'
import { baseImageOf, buildImage, imageInputs, listImages } from '../lib/images.ts'
import { containerName, DEV_USERS_KEY, hubUrl, type ImageKey, TEMPLATE_NAMES } from '../lib/names.ts'
import { type PodmanInfo, podman, probePodman } from '../lib/podman.ts'
import { podFactsData } from '../lib/pod-facts.ts'
import type { ContainerKey } from '../lib/running.ts'
import type { RepoPaths } from '../lib/paths.ts'
import { LIST_OPTIONS } from './context.ts'
import {
  controllerAddress,
  nodeContainer,
  nodeContainerSpec,
  nodeCount,
  runsSlurm,
  upTo,
  waitForNodes,
} from '../lib/nodes.ts'
import { waitForSlurm } from './start.ts'
import { fillVolume, hubVolumeSpec, specEntries, volumeFill } from '../lib/volumes.ts'

/** The start-up hook of the dev Slurm image that creates the dev users (idempotent). */
export const CREATE_USERS_HOOK = '/usr/local/lib/slurm-pod/start.d/10-create-dev-users.sh'

export interface ApplyContext {
  /** The parts of the snapshot that are now in the environment. */
  applied: Snapshot
  /** The podman check, made when a task first needs to know whether podman is remote. */
  podman?: Promise<PodmanInfo>
  /** Said after the list has drawn (the hub log lines that say why it did not come back). */
  notes: string[]
}

interface TemplateContainer {
  name: string
  command?: string[]
  env?: Array<{ name: string; value?: string }>
  envFrom?: Array<{ configMapRef?: { name: string } }>
}

const templateContainer = (plan: ApplyPlan, container: string): TemplateContainer | undefined =>
  (plan.template as { spec?: { containers?: TemplateContainer[] } }).spec?.containers?.find((c) => c.name === container)

/** A container's environment from the template: its own values and the ConfigMaps' present ones. */
export const containerEnv = (plan: ApplyPlan, container: ContainerKey | string): Record<string, string> =>
  envOf(plan, templateContainer(plan, container))

/** The environment of a container `spec` (the template's, or a Slurm node's) with the ConfigMaps' present values. */
function envOf(plan: ApplyPlan, spec: TemplateContainer | undefined): Record<string, string> {
  const refs = spec?.envFrom ?? []
  const env: Record<string, string> = Object.fromEntries((spec?.env ?? []).map((e) => [e.name, e.value ?? '']))
  for (const ref of refs) {
    const name = ref.configMapRef?.name
    if (name === TEMPLATE_NAMES.configMaps.devUsers) env[DEV_USERS_KEY] = (plan.now.devUsers ?? []).join(' ')
    if (name === TEMPLATE_NAMES.configMaps.deployConfig) {
      // With the development issuer, its URL on the pod's port (as up rendered it).
      const port = plan.running.hostPort ?? plan.env.hostPort
      Object.assign(env, deployConfigData(resolveIssuer(plan.settings, port)))
    }
    if (name === TEMPLATE_NAMES.configMaps.podFacts) Object.assign(env, podFactsData())
  }
  return env
}

/** Whether podman is a remote client: asked once, by the first task that needs to know. */
function isRemote(ctx: ApplyContext): Promise<boolean> {
  ctx.podman ??= probePodman()
  return ctx.podman.then((info) => info.remote)
}

async function rebuild(ctx: ApplyContext, plan: ApplyPlan, image: string, onLine: (line: string) => void) {
  const build = plan.builds.find((b) => b.image === image)
  if (!build) return
  const { inputs } = imageInputs(build, await listImages([build.ref, baseImageOf(build) ?? []].flat()))
  await buildImage(build, { remote: await isRemote(ctx), onLine, inputs })
}

/** Lays the hub configuration over the hub's volume (state files such as the database are not in it). */
async function copyHubFiles(ctx: ApplyContext, plan: ApplyPlan): Promise<void> {
  const spec = hubVolumeSpec(plan.env)
  if (!spec) return
  const entries = await specEntries(spec)
  const hub = containerName(plan.env.names, 'jupyterhub')
  let image: Promise<string> | undefined
  const hubImage = () =>
    (image ??= podman(['container', 'inspect', '--format', '{{.ImageName}}', hub]).then((r) => r.stdout.trim()))
  const remote = await isRemote(ctx)
  await fillVolume(spec.name, entries, volumeFill(remote, remote ? await hubImage() : undefined))
  if (plan.actions.removeHubFiles.length === 0) return
  // The hub mounts its configuration read-only; a passing container removes what is gone.
  const files = plan.actions.removeHubFiles.map((f) => `/volume/${f.replace(/^\.\//, '')}`)
  await podman(['run', '--rm', '--entrypoint', 'rm', '-v', `${spec.name}:/volume`, await hubImage(), '-f', ...files])
}

const say = (list: string[]) => list.join(', ')

/** What a finished task put into the environment, for the record (see ApplyContext). */
type Part = 'hubFiles' | 'settings' | 'clones' | ImageKey

function markApplied(ctx: ApplyContext, plan: ApplyPlan, ...parts: Part[]): void {
  const { now } = plan
  const applied = ctx.applied
  for (const part of parts) {
    if (part === 'hubFiles') applied.hubFiles = now.hubFiles
    else if (part === 'settings') Object.assign(applied, { devUsers: now.devUsers, deployConfig: now.deployConfig })
    else if (part === 'clones') applied.clones = now.clones
    else {
      applied.images = { ...applied.images, [part]: now.images[part] }
      for (const repo of plan.repos.filter((r) => r.image === part))
        applied.packaging = { ...applied.packaging, [repo.name]: now.packaging[repo.name] as string }
    }
  }
}

function buildTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  return plan.actions.rebuild.map((image) => ({
    title: `Rebuild ${plan.builds.find((b) => b.image === image)?.ref ?? image} (its Containerfile, build arguments, base image or packaging changed)`,
    task: async (ctx, task) => {
      await rebuild(ctx, plan, image, (line) => (task.output = line))
    },
    rendererOptions: { outputBar: 3 },
  }))
}

function hubFileTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  const { changes, actions } = plan
  if (!actions.copyHubFiles) return []
  const what = changes
    ? say([...changes.hubFiles.changed, ...changes.hubFiles.removed.map((f) => `${f} (removed)`)])
    : 'all files'
  return [
    {
      title: `Copy the hub configuration into ${plan.env.names.volumes.jupyterhub}: ${what}`,
      task: async (ctx) => {
        await copyHubFiles(ctx, plan)
        markApplied(ctx, plan, 'hubFiles')
      },
    },
  ]
}

/** The new dev users on each Slurm node too (the same uids, from the homes the login node made), without Slurm accounts. */
async function makeUsersOnNodes(plan: ApplyPlan, users: string): Promise<void> {
  const nodes = upTo(nodeCountOf(plan)).map((i) => nodeContainer(plan.env.names, i))
  await Promise.all(
    nodes.map((node) => podman(['exec', '--env', users, '--env', 'SLURM_POD_ROLE=node', node, CREATE_USERS_HOOK])),
  )
}

function userTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  const { newUsers, removedUsers } = plan.actions
  const slurm = containerName(plan.env.names, 'slurm')
  return [
    ...(newUsers.length
      ? [
          {
            title: `Create dev users in the Slurm container: ${say(newUsers)}`,
            task: async (_ctx: ApplyContext, task: { output: string }) => {
              const all = `${DEV_USERS_KEY}=${(plan.now.devUsers ?? []).join(' ')}`
              await podman(['exec', '--env', all, slurm, CREATE_USERS_HOOK], { onLine: (l) => (task.output = l) })
              await makeUsersOnNodes(plan, all)
            },
          },
        ]
      : []),
    ...(removedUsers.length
      ? [
          {
            title: `Kept the Unix accounts and homes of users no longer in dev_users: ${say(removedUsers)} (down and up to drop them)`,
            task: () => {},
          },
        ]
      : []),
  ]
}

/** The image a replaced container runs: the rebuilt one, or (new settings only) the one it ran. */
const newImage = (plan: ApplyPlan, image: ImageKey): string | undefined =>
  plan.actions.rebuild.includes(image) ? plan.builds.find((b) => b.image === image)?.ref : undefined

/** The environment's Slurm nodes (lib/nodes.ts): none where Slurm is not in the pod. */
const nodeCountOf = (plan: ApplyPlan): number => (runsSlurm(plan.use) ? nodeCount(plan.settings) : 0)

/** The nodes run the Slurm image and make their GPU files as they start: a new image or GPU count replaces them. */
const replacesNodes = (plan: ApplyPlan): boolean =>
  nodeCountOf(plan) > 0 &&
  (plan.actions.rebuild.includes('slurm') || Boolean(plan.changes?.deployConfig.includes('slurmGpusPerNode')))

/** How long a replaced Slurm container may take to get ready (it waits for slurmdbd first). */
const SLURM_START_MS = 180_000

function slurmTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  if (!plan.actions.replace.slurm) return []
  // The accounting container runs the Slurm image too: on a new image it is
  // replaced first (its database stays in its volume), as the Slurm
  // container waits for its slurmdbd when it starts.
  const accounting = templateContainer(plan, 'accounting')
  return [
    {
      title: 'Replace the accounting container (new image; its database is kept in its volume)',
      enabled: () => accounting !== undefined && plan.actions.rebuild.includes('slurm'),
      task: async () => {
        await replaceContainer(containerName(plan.env.names, 'accounting'), {
          image: newImage(plan, 'slurm'),
          env: containerEnv(plan, 'accounting'),
          command: accounting?.command,
        })
      },
    },
    {
      title: 'Replace the Slurm container (new image; the users keep their homes, in their volume)',
      task: async (ctx) => {
        const replacement = { image: newImage(plan, 'slurm'), env: containerEnv(plan, 'slurm') }
        const slurm = containerName(plan.env.names, 'slurm')
        await replaceContainer(slurm, replacement)
        // Its users, their accounts and limits are set up as it starts: ready when the next job may come.
        await waitForSlurm(slurm, SLURM_START_MS)
        if (!replacesNodes(plan)) markApplied(ctx, plan, 'slurm')
      },
    },
    ...nodeTasks(plan),
  ]
}

/** Slurm's nodes, after the Slurm container: on a new image or GPU count (replacesNodes). */
function nodeTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  const count = nodeCountOf(plan)
  const replace = (i: number) => {
    const spec = nodeContainerSpec(i, controllerAddress(plan.template, plan.env.names)) as unknown as TemplateContainer
    const replacement = { image: newImage(plan, 'slurm'), env: envOf(plan, spec), command: spec.command }
    return replaceContainer(nodeContainer(plan.env.names, i), replacement)
  }
  return [
    {
      title: `Replace Slurm's ${count} nodes (new image or GPUs per node; jobs running on them end, as on nodes rebooted)`,
      enabled: () => replacesNodes(plan),
      task: async (ctx) => {
        await Promise.all(upTo(count).map(replace))
        await waitForNodes(plan.env.names, count, SLURM_START_MS)
        markApplied(ctx, plan, 'slurm')
      },
    },
  ]
}

/** Why the hub restarts, for the task's title. */
function hubReasons(plan: ApplyPlan): string[] {
  const { actions, changes } = plan
  return [
    ...(actions.rebuild.includes('jupyterhub') ? ['new image'] : []),
    ...(changes?.devUsers ? ['dev users'] : []),
    ...(changes?.deployConfig.length ? [`deploy settings ${say(changes.deployConfig)}`] : []),
    ...(changes?.clones.filter((n) => plan.repos.find((r) => r.name === n)?.image === 'jupyterhub') ?? []),
    ...(actions.copyHubFiles ? ['configuration'] : []),
    ...(changes ? [] : ['no record of the last apply']),
  ]
}

/** dev_realauth's issuer and front read the same settings and run the hub image: they follow the hub. */
function devLoginTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  const containers = devLoginContainers(plan.template)
  if (!plan.actions.replace.jupyterhub || containers.length === 0) return []
  return [
    {
      title: `Replace ${say(containers.map((c) => c.name))} (as the hub; logins start again)`,
      task: async () => {
        for (const { name, command } of containers)
          await replaceContainer(containerName(plan.env.names, name), {
            image: newImage(plan, 'jupyterhub'),
            env: containerEnv(plan, name),
            command,
          })
      },
    },
  ]
}

/** The pod's proxy, where it runs apart from the hub (jh_slurm_pod.yaml): its container and command. */
const PROXY = 'proxy'

/**
 * The proxy outlives the hub's restarts and replacements; of everything
 * `apply` changes it reads only the deploy setting baseUrl (its error page is
 * the hub's, under it). When that changes it is replaced before the hub
 * restarts, so that the new hub puts its routes into the new proxy.
 */
function proxyTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  const spec = (plan.template as { spec?: { containers?: Array<{ name: string; command?: string[] }> } }).spec
  const proxy = spec?.containers?.find((c) => c.name === PROXY)
  if (!proxy || !plan.changes?.deployConfig.includes('baseUrl')) return []
  return [
    {
      title: 'Replace the proxy (deploy setting baseUrl; connections to servers start again)',
      task: async () => {
        await replaceContainer(containerName(plan.env.names, PROXY), {
          env: containerEnv(plan, PROXY),
          command: proxy.command,
        })
      },
    },
  ]
}

function hubTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  const { actions } = plan
  if (!actions.restartHub) return []
  const hub = containerName(plan.env.names, 'jupyterhub')
  const rebuilt = actions.rebuild.includes('jupyterhub') ? (['jupyterhub'] as const) : []
  return [
    {
      title: `${actions.replace.jupyterhub ? 'Replace' : 'Restart'} the hub container (${say(hubReasons(plan))})`,
      task: async (ctx) => {
        if (actions.replace.jupyterhub)
          await replaceContainer(hub, { image: newImage(plan, 'jupyterhub'), env: containerEnv(plan, 'jupyterhub') })
        else await restartHub(hub)
        markApplied(ctx, plan, 'settings', 'clones', ...rebuilt)
      },
    },
  ]
}

/** Clones with nothing to restart are in use already; they count as applied. */
function liveTasks(plan: ApplyPlan): ListrTask<ApplyContext>[] {
  const { live } = plan.actions
  if (!live.length) return []
  return [
    { title: `In use already, nothing to restart: ${say(live)}`, task: (ctx) => markApplied(ctx, plan, 'clones') },
  ]
}

export function applyTasks(plan: ApplyPlan, waitSeconds: number): ListrTask<ApplyContext>[] {
  const hub = containerName(plan.env.names, 'jupyterhub')
  const port = plan.running.hostPort
  return [
    ...buildTasks(plan),
    ...hubFileTasks(plan),
    ...userTasks(plan),
    ...slurmTasks(plan),
    ...devLoginTasks(plan),
    ...proxyTasks(plan),
    ...hubTasks(plan),
    ...liveTasks(plan),
    {
      title: 'Wait for the hub to answer',
      enabled: () => plan.actions.restartHub && waitSeconds > 0 && port !== undefined,
      task: async (ctx, task) => {
        const started = Date.now()
        await waitForHub(
          hub,
          new URL('hub/health', hubUrl(port as number, baseUrlOf(plan.settings))).toString(),
          new Date(started - 1000),
          waitSeconds * 1000,
          (text) => ctx.notes.push(text),
        )
        task.title = `The hub answers again (${((Date.now() - started) / 1000).toFixed(1)} s)`
      },
    },
  ]
}

/** One line per kind of change, for the summary. */
export function describeChanges(plan: ApplyPlan): string {
  const { changes } = plan
  if (!changes) return 'no record of the last up or apply of this pod: applied the configuration, users and settings'
  const parts = [
    changes.clones.length && `clones ${say(changes.clones)}`,
    changes.hubFiles.changed.length + changes.hubFiles.removed.length && 'hub configuration',
    changes.devUsers && 'dev users',
    changes.deployConfig.length && 'deploy settings',
    plan.actions.rebuild.length && `images ${say(plan.actions.rebuild)}`,
  ].filter(Boolean)
  return `applied: ${parts.join('; ')}`
}

/** Runs the plan's tasks; records what reached the environment even when a task fails. */
export async function runApplyTasks(plan: ApplyPlan, waitSeconds: number, repo: RepoPaths): Promise<void> {
  const ctx: ApplyContext = { applied: structuredClone(plan.record?.snapshot ?? plan.now), notes: [] }
  const list = new Listr<ApplyContext>(applyTasks(plan, waitSeconds), { ctx, ...LIST_OPTIONS })
  try {
    await list.run()
  } finally {
    for (const note of ctx.notes) process.stderr.write(`${note}\n`)
    const { running, build, deployConfig } = plan
    writeRecord(repo, plan.env.name, { pod: running.id, build, deployConfig, snapshot: ctx.applied })
  }
}
