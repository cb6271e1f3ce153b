// `jh-slurm-pod logs`: the hub's log, the Slurm side's logs and a job's output
// file, found for the user instead of by hand inside the containers.
import { envVarOf } from './deploy-config.ts'
import { JOB_OUTPUT } from './pod-facts.ts'
import { DEV_ISSUER, DEV_LOGIN_CONTAINERS } from './dev-issuer.ts'
import { UserError } from './errors.ts'
import type { Environment } from './environment.ts'
import { containerName } from './names.ts'
import { serverNames, tunnelContainers } from './nadir-server.ts'
import { nodeContainer } from './nodes.ts'
import { podman, podmanSucceeds } from './podman.ts'
import { podmanPassThrough, type RunningPod } from './running.ts'

export const LOG_KINDS = ['hub', 'slurm', 'node', 'job', 'login', 'tunnel'] as const
export type LogKind = (typeof LOG_KINDS)[number]

export interface LogsRequest {
  env: Environment
  kind: LogKind
  jobId?: string
  /** For `node`: which (from 1). */
  node?: number
  follow: boolean
}

/** The Slurm container's logs (sshd shows the hub's logins and the wrappers it ran). */
export const SLURM_LOGS = ['/var/log/slurmctld.log', '/var/log/slurmd.log', '/var/log/sshd.log']

/** The job output file the batch script names in the job's home (volumes/_shared/.../jh_slurm_hub.py: --output). */
const JOB_OUTPUT_NAME = JOB_OUTPUT
const [OUTPUT_BEFORE = '', OUTPUT_AFTER = ''] = JOB_OUTPUT.split('%j')
const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
const JOB_OUTPUT_FILE = new RegExp(`/${escapeRegExp(OUTPUT_BEFORE)}(\\d+)${escapeRegExp(OUTPUT_AFTER)}$`)

export interface JobOutput {
  id: number
  file: string
}

/** Picks the job asked for, or the newest (highest id); a one-line error when there is none. */
export function pickJob(outputs: JobOutput[], jobId: string | undefined, where: string): JobOutput {
  if (outputs.length === 0) throw new UserError(`no job has written an output file in ${where} yet`)
  const sorted = [...outputs].sort((a, b) => a.id - b.id)
  if (jobId === undefined) return sorted[sorted.length - 1] as JobOutput
  const found = sorted.find((o) => String(o.id) === jobId)
  if (!found) {
    const known = sorted.map((o) => o.id).join(', ')
    throw new UserError(`no output file of job ${jobId} in ${where} (jobs with one: ${known})`)
  }
  return found
}

export function parseJobOutputs(listing: string): JobOutput[] {
  return listing
    .split('\n')
    .map((line) => line.trim())
    .flatMap((file) => {
      const match = JOB_OUTPUT_FILE.exec(file)
      return match ? [{ id: Number(match[1]), file }] : []
    })
}

/** One line about a job from `scontrol show job -o`: its user, state and reason, when Slurm still knows it. */
export function describeJob(job: JobOutput, scontrol: string): string {
  const field = (key: string) => new RegExp(`(?:^|\\s)${key}=(\\S+)`).exec(scontrol)?.[1]
  const facts = [
    field('UserId')?.replace(/\(\d+\)$/, ''),
    field('JobState') && `state ${field('JobState')}`,
    field('Reason') && field('Reason') !== 'None' ? `reason ${field('Reason')}` : undefined,
    field('ExitCode') && `exit code ${field('ExitCode')}`,
  ].filter(Boolean)
  return `==> job ${job.id}${facts.length ? ` (${facts.join(', ')})` : ''}: ${job.file} <==`
}

/** A job as Slurm's accounting recorded it (sacct), running or ended. */
export interface JobRecord {
  id: number
  user: string
  account: string
  state: string
  exitCode: string
  workDir: string
}

/** The fields `sacct --parsable2 --noheader --allocations` is asked for, in this order. */
export const SACCT_FIELDS = 'JobID,User,Account,State,ExitCode,WorkDir'

export function parseSacct(text: string): JobRecord[] {
  return text
    .split('\n')
    .map((line) => line.trim().split('|'))
    .flatMap(([id, user, account, state, exitCode, workDir]) =>
      id && /^\d+$/.test(id)
        ? [
            {
              id: Number(id),
              user: user ?? '',
              account: account ?? '',
              state: state ?? '',
              exitCode: exitCode ?? '',
              workDir: workDir ?? '',
            },
          ]
        : [],
    )
}

/** One line about a job from its accounting record: user, account, state and exit code. */
export function describeRecord(job: JobOutput, record: JobRecord): string {
  const facts = [record.user, `account ${record.account}`, `state ${record.state}`, `exit code ${record.exitCode}`]
  return `==> job ${job.id} (${facts.join(', ')}): ${job.file} <==`
}

/** The job's accounting record, where Slurm keeps accounting; undefined where it does not or has none. */
async function jobRecord(slurm: string, id: string): Promise<JobRecord | undefined> {
  const sacct = await podman(
    ['exec', slurm, 'sacct', '--allocations', '--parsable2', '--noheader', '--jobs', id, '--format', SACCT_FIELDS],
    { nothrow: true },
  )
  return sacct.exitCode === 0 ? parseSacct(sacct.stdout).find((r) => String(r.id) === id) : undefined
}

async function inPodJob(request: LogsRequest): Promise<number> {
  const slurm = containerName(request.env.names, 'slurm')
  // A job asked for by id: where its output is from accounting (the batch
  // script writes it in the job's working directory, its home), also once
  // the job has ended and Slurm's controller has forgotten it.
  const record = request.jobId && /^\d+$/.test(request.jobId) ? await jobRecord(slurm, request.jobId) : undefined
  if (record?.workDir) {
    const job = { id: record.id, file: `${record.workDir}/${JOB_OUTPUT_NAME.replace('%j', String(record.id))}` }
    process.stdout.write(`${describeRecord(job, record)}\n`)
    return podmanPassThrough(['exec', slurm, 'tail', '-n', '+1', ...(request.follow ? ['-F'] : []), job.file])
  }
  const where = `the Slurm container of ${request.env.name} (/home/<project>/<user>/)`
  const listing = await podman([
    'exec',
    slurm,
    'find',
    '/home',
    '-mindepth',
    '3',
    '-maxdepth',
    '3',
    '-name',
    JOB_OUTPUT_NAME.replace('%j', '*'),
  ])
  const job = pickJob(parseJobOutputs(listing.stdout), request.jobId, where)
  const details = await podman(['exec', slurm, 'scontrol', '-o', 'show', 'job', String(job.id)], { nothrow: true })
  process.stdout.write(`${describeJob(job, details.exitCode === 0 ? details.stdout : '')}\n`)
  return podmanPassThrough(['exec', slurm, 'tail', '-n', '+1', ...(request.follow ? ['-F'] : []), job.file])
}

/**
 * The jobs the hub submitted, from its log (batchspawner logs each
 * submission's template values, the job's home directory among them, then
 * the job id), with where each job's output file is.
 */
export function submittedJobs(hubLog: string): JobOutput[] {
  const jobs: JobOutput[] = []
  let homedir: string | undefined
  for (const line of hubLog.split('\n')) {
    const options = /Spawner script options: .*'homedir': '([^']+)'/.exec(line)
    if (options) homedir = options[1]
    const submitted = /Job submitted\. output: (\d+)/.exec(line)
    if (submitted && homedir) {
      const id = Number(submitted[1])
      jobs.push({ id, file: `${homedir}/${JOB_OUTPUT_NAME.replace('%j', String(id))}` })
    }
  }
  return jobs
}

/** Slurm elsewhere: the file is on the cluster; say which, and how to read it. */
async function externalJob(request: LogsRequest): Promise<number> {
  const hub = containerName(request.env.names, 'jupyterhub')
  const log = await podman(['logs', hub])
  const jobs = submittedJobs(`${log.stdout}\n${log.stderr}`)
  const job = pickJob(jobs, request.jobId, `the hub log of ${request.env.name}`)
  const host = (await podman(['exec', hub, 'printenv', envVarOf('sshHostname')], { nothrow: true })).stdout.trim()
  const user = /^\/home\/[^/]+\/([^/]+)\//.exec(job.file)?.[1] ?? '<user>'
  process.stdout.write(
    [
      `job ${job.id} ran on the cluster${host ? ` (login node ${host})` : ''}, not in this pod.`,
      `Its output file there: ${job.file}`,
      `Read it as ${user} (or an administrator) on the cluster, e.g.: ssh ${user}@${host || '<login node>'} cat ${job.file}`,
      '',
    ].join('\n'),
  )
  return 0
}

/** dev_realauth's development issuer and login front: logins, refusals, sessions opened and ended. */
async function loginLogs(request: LogsRequest, running: RunningPod): Promise<number> {
  const { env, follow } = request
  const inHub = DEV_LOGIN_CONTAINERS.map((container) => containerName(env.names, container))
  // dev_realauth_nadir runs them on its stand-in Nadir server (docs/nadir.md).
  const onServer = DEV_LOGIN_CONTAINERS.map((container) => containerName(serverNames(env.names), container))
  const names = inHub.every((name) => running.containerNames.includes(name)) ? inHub : onServer
  if (names === onServer && !(await podmanSucceeds(['container', 'exists', onServer[0] ?? ''])))
    throw new UserError(
      `environment ${env.name} has no development issuer and login front (dev_realauth's pod has them, with oidcServer: ${DEV_ISSUER})`,
    )
  return podmanPassThrough(['logs', '--names', ...(follow ? ['--follow'] : []), ...names])
}

/** dev_realauth_nadir's tunnel, both ends: the client's connections and the stand-in server's sshd. */
async function tunnelLogs(request: LogsRequest): Promise<number> {
  const { env, follow } = request
  const names = tunnelContainers(env.names)
  for (const name of names)
    if (!(await podmanSucceeds(['container', 'exists', name])))
      throw new UserError(
        `environment ${env.name} has no Nadir tunnel with a stand-in server (dev_realauth_nadir has one): ${name} does not exist`,
      )
  return podmanPassThrough(['logs', '--names', ...(follow ? ['--follow'] : []), ...names])
}

/** A compute node's slurmd (its container's output: slurmd runs in the foreground). */
async function nodeLogs(request: LogsRequest): Promise<number> {
  const { env, follow, node = 1 } = request
  const name = nodeContainer(env.names, node)
  if (!(await podmanSucceeds(['container', 'exists', name])))
    throw new UserError(
      `environment ${env.name} has no Slurm node ${node} (${name} does not exist; see jh-slurm-pod status and the deploy setting slurmNodes)`,
    )
  return podmanPassThrough(['logs', ...(follow ? ['--follow'] : []), name])
}

export async function showLogs(request: LogsRequest, running: RunningPod): Promise<number> {
  const { env, kind, follow } = request
  const { containers } = running
  if (kind === 'node') return nodeLogs(request)
  if (kind === 'login') return loginLogs(request, running)
  if (kind === 'tunnel') return tunnelLogs(request)
  if (kind === 'hub')
    return podmanPassThrough(['logs', ...(follow ? ['--follow'] : []), containerName(env.names, 'jupyterhub')])
  if (kind === 'job' && !containers.slurm) return externalJob(request)
  if (!containers.slurm)
    throw new UserError(
      `environment ${env.name} has no Slurm container: its Slurm runs on the cluster, read its logs there`,
    )
  if (containers.slurm !== 'running')
    throw new UserError(
      `the Slurm container of ${env.name} is ${containers.slurm}, not running (see jh-slurm-pod status)`,
    )
  if (kind === 'job') return inPodJob(request)
  return podmanPassThrough([
    'exec',
    containerName(env.names, 'slurm'),
    'tail',
    '-n',
    '+1',
    ...(follow ? ['-F'] : []),
    ...SLURM_LOGS,
  ])
}
