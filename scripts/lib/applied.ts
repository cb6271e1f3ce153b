// The record of what a running environment was made from: written by `up`
// once the pod runs and by every `apply`, read by `apply` to see what has
// changed since. It belongs to one pod: a record of an earlier pod of the
// same environment (down, then up by an older version) is not used.
import fs from 'node:fs'
import path from 'node:path'
import type { DeployConfigOverlay } from './deploy-config.ts'
import { environmentSettings } from './nodes.ts'
import type { Environment } from './environment.ts'
import type { BuildSettings, ImageBuild } from './images.ts'
import type { RepoPaths } from './paths.ts'
import { requireUp } from './running.ts'
import { beginSnapshot, type Snapshot } from './snapshot.ts'
import type { DevRepo } from './sources.ts'

export interface AppliedRecord {
  /** The pod's ID when it was recorded. */
  pod: string
  /** What `up` was given, so that `apply` builds and renders the same way. */
  build: BuildSettings
  deployConfig?: DeployConfigOverlay
  snapshot: Snapshot
}

export const recordFile = (repo: RepoPaths, env: string): string => path.join(repo.buildTmp, `applied.${env}.json`)

export function readRecord(repo: RepoPaths, env: string, podId: string): AppliedRecord | undefined {
  try {
    const record = JSON.parse(fs.readFileSync(recordFile(repo, env), 'utf8')) as AppliedRecord
    return record.pod === podId ? record : undefined
  } catch {
    return undefined
  }
}

/** Written whole or not at all (a watch and a reader may overlap). */
export function writeRecord(repo: RepoPaths, env: string, record: AppliedRecord): void {
  const file = recordFile(repo, env)
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 })
  fs.renameSync(tmp, file)
}

export interface UpRecordInput {
  env: Environment
  readsDevUsers: boolean
  repos: DevRepo[]
  builds: ImageBuild[]
  build: BuildSettings
  deployConfig?: DeployConfigOverlay
  repo: RepoPaths
}

/** Reads the sources `up` makes the environment from, before it builds (lib/snapshot.ts: beginSnapshot). */
export async function beginUpRecord(input: UpRecordInput): Promise<() => Promise<Snapshot>> {
  const settings = await environmentSettings(input.env, input.deployConfig)
  return beginSnapshot({ ...input, settings })
}

/** What `up` made the environment from, once its pod runs: the starting point of the next apply. */
export async function recordUp(input: UpRecordInput, finish: () => Promise<Snapshot>): Promise<void> {
  const [running, snapshot] = await Promise.all([requireUp(input.env), finish()])
  writeRecord(input.repo, input.env.name, {
    pod: running.id,
    build: input.build,
    deployConfig: input.deployConfig,
    snapshot,
  })
}
