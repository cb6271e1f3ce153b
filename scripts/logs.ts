// `jh-slurm-pod logs <env> [hub|slurm|job [JOBID]|login|tunnel] [--follow]`: the logs of an environment that is up.
import { defineCommand } from './lib/command.ts'
import { resolveEnvironment } from './lib/environment.ts'
import { UsageError } from './lib/errors.ts'
import { LOG_KINDS, type LogKind, showLogs } from './lib/logs.ts'
import { COMMANDS } from './lib/options.ts'
import { checkPodman } from './lib/podman.ts'
import { requireUp } from './lib/running.ts'

export const command = defineCommand(COMMANDS.logs, async ({ values, positionals }, repo) => {
  const [envName, kindGiven = 'hub', jobId] = positionals
  if (!(LOG_KINDS as readonly string[]).includes(kindGiven))
    throw new UsageError(
      `unknown log "${kindGiven}"; choose hub, slurm, job, login or tunnel (see jh-slurm-pod logs --help)`,
    )
  const kind = kindGiven as LogKind
  if (jobId !== undefined && (kind !== 'job' || !/^\d+$/.test(jobId)))
    throw new UsageError(`a job id (a number) follows only "job", got "${jobId}"`)
  const env = resolveEnvironment(envName, repo)
  await checkPodman()
  return showLogs({ env, kind, jobId, follow: values.follow }, await requireUp(env))
})
