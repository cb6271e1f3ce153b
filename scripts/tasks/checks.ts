// The checks of `up`, each a task of its own, run side by side: nothing is
// made until they all pass, and the first in this list that fails is reported.
import type { ListrTask } from 'listr2'
import { UserError } from '../lib/errors.ts'
import { describeResources, environmentsUp, takeInventory } from '../lib/inventory.ts'
import { HUB_HOST, LEGACY } from '../lib/names.ts'
import { probePodman } from '../lib/podman.ts'
import { checkPortFree, checkTool } from '../lib/preflight.ts'
import type { UpPlan } from '../lib/up-plan.ts'
import type { Task, UpContext } from './context.ts'

/** Fails when the environment, or one of an earlier version under the old fixed names, is up. */
async function checkNotUp(envName: string): Promise<void> {
  const up = environmentsUp(await takeInventory(), [envName])
  const same = up.find((e) => e.names.env === envName)
  if (same)
    throw new UserError(
      `environment ${envName} is already up (${describeResources(same.resources)}); run \`jh-slurm-pod down ${envName}\` first, or bring your edits into it with \`jh-slurm-pod apply ${envName}\``,
    )
  const legacy = up.find((e) => e.names.env === LEGACY)
  if (legacy)
    throw new UserError(
      `an environment from an earlier version is still up under the old fixed names (${describeResources(legacy.resources)}); remove it with \`jh-slurm-pod down --all\``,
    )
}

/** Fails when the hub's port is taken, naming our environment that holds it if one does (its pod's label says). */
async function checkHubPort(port: number): Promise<void> {
  try {
    await checkPortFree(port, HUB_HOST)
  } catch (error) {
    const holder = environmentsUp(await takeInventory(), []).find((e) => e.hostPort === port)
    if (holder)
      throw new UserError(
        `port ${port} is used by environment ${holder.names.env}; choose another with --port, or run \`jh-slurm-pod down ${holder.names.env}\``,
      )
    throw error
  }
}

export function checkTasks(plan: UpPlan): ListrTask<UpContext>[] {
  const { envName } = plan.options
  const apiPort = plan.hubApiPort
  return [
    {
      title: 'podman',
      task: async (ctx, task: Task) => {
        const { version, remote } = await probePodman()
        ctx.remote = remote
        task.title = `podman ${version}${remote ? ' (remote client)' : ''}`
      },
    },
    {
      title: 'ssh-keygen',
      task: () => checkTool('ssh-keygen', 'install OpenSSH (e.g. apt-get install openssh-client)'),
    },
    {
      title: 'git',
      enabled: () => !plan.clonesExist,
      task: () => checkTool('git', 'install git (e.g. apt-get install git)'),
    },
    { title: `${envName} is not up`, task: () => checkNotUp(envName) },
    { title: `port ${plan.ports.proxy} is free`, task: () => checkHubPort(plan.ports.proxy) },
    {
      title: `hub API port ${apiPort} is free`,
      enabled: () => apiPort !== undefined,
      task: () => (apiPort === undefined ? undefined : checkPortFree(apiPort, '0.0.0.0')),
    },
  ]
}
