// `jh-slurm-pod logs <env> [hub|slurm|node <i>|job [JOBID]|login|tunnel] [--follow]`: the logs of an environment that is up.
import { defineCommand } from './lib/command.ts'
import { MAX_SLURM_NODES } from './lib/deploy-config.ts'
import { resolveEnvironment } from './lib/environment.ts'
import { UsageError } from './lib/errors.ts'
import { LOG_KINDS, type LogKind, showLogs } from './lib/logs.ts'
import { COMMANDS } from './lib/options.ts'
import { checkPodman } from './lib/podman.ts'
import { requireUp } from './lib/running.ts'

/** The node `logs <env> node <i>` asks for: 1 to the most an environment may have. */
function nodeNumber(given: string | undefined): number {
  if (given === undefined || !/^\d+$/.test(given) || Number(given) < 1 || Number(given) > MAX_SLURM_NODES)
    throw new UsageError(
      `"node" takes the node's number, 1 to ${MAX_SLURM_NODES} (logs <env> node 1), got "${given ?? ''}"`,
    )
  return Number(given)
}

export const command = defineCommand(COMMANDS.logs, async ({ values, positionals }, repo) => {
  const [envName, kindGiven = 'hub', which] = positionals
  if (!(LOG_KINDS as readonly string[]).includes(kindGiven))
    throw new UsageError(
      `unknown log "${kindGiven}"; choose hub, slurm, node, job, login or tunnel (see jh-slurm-pod logs --help)`,
    )
  const kind = kindGiven as LogKind
  const node = kind === 'node' ? nodeNumber(which) : undefined
  if (which !== undefined && kind !== 'node' && (kind !== 'job' || !/^\d+$/.test(which)))
    throw new UsageError(`a job id (a number) follows only "job", got "${which}"`)
  const env = resolveEnvironment(envName, repo)
  await checkPodman()
  const jobId = kind === 'job' ? which : undefined
  return showLogs({ env, kind, jobId, node, follow: values.follow }, await requireUp(env))
})
