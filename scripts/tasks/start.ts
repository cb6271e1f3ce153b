// Starting the pod and waiting for the hub to answer.
import { recordUp, type UpRecordInput } from '../lib/applied.ts'
import { seedVersionFiles } from '../lib/dev-mounts.ts'
import { baseUrlOf } from '../lib/base-url.ts'
import { UserError } from '../lib/errors.ts'
import { containerName, hubUrl } from '../lib/names.ts'
import type { RepoPaths } from '../lib/paths.ts'
import { playManifest } from '../lib/play.ts'
import { podman } from '../lib/podman.ts'
import { writeSecretFile } from '../lib/secret-file.ts'
import type { UpPlan } from '../lib/up-plan.ts'
import { waitForHttp } from '../lib/wait.ts'
import { produced, type Task, type UpContext } from './context.ts'

export async function startPod(plan: UpPlan, repo: RepoPaths, ctx: UpContext, task: Task): Promise<void> {
  const file = produced(ctx.manifestFile, 'the manifest')
  const { env, repos, builds, options } = plan
  await seedVersionFiles(repos, builds)
  await playManifest(file, (line) => (task.output = line), options.network)
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

/** Waits for the hub's health URL; on time out the hub's last log lines are noted for after the list. */
export async function waitForHub(plan: UpPlan, ctx: UpContext): Promise<void> {
  const seconds = plan.options.waitSeconds
  const health = new URL('hub/health', hubUrl(plan.ports.proxy, baseUrlOf(plan.deployConfig))).toString()
  if (await waitForHttp(health, seconds * 1000)) return
  const logs = await podman(['logs', '--tail', '15', containerName(plan.env.names, 'jupyterhub')], { nothrow: true })
  const tail = `${logs.stdout}${logs.stderr}`.trim()
  if (tail) ctx.notes.push(`last lines of the hub log:\n${tail}`)
  throw new UserError(`JupyterHub did not answer at ${health} within ${seconds} s`)
}
