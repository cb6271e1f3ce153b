// What an environment is made from, as digests: the development clones, the
// hub configuration files, the dev users, the deploy settings and each
// image's build inputs. `apply` compares the present snapshot with the one
// recorded when the environment was last brought up or applied, and does
// only what the differences need.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { DeployConfig } from './deploy-config.ts'
import { readDevUsers } from './dev-users.ts'
import type { Environment } from './environment.ts'
import { baseImageOf, hashTree, type ImageBuild, listImages, podmanBuildArgs } from './images.ts'
import type { ImageKey } from './names.ts'
import type { RepoPaths } from './paths.ts'
import type { DevRepo } from './sources.ts'
import { generatedVersionFile } from './version-file.ts'
import { hubVolumeSpec, specEntries } from './volumes.ts'

export interface Snapshot {
  /** Each mounted clone's working tree (no .git, no caches). */
  clones: Record<string, string>
  /** Each mounted clone's packaging files: a change there needs the image rebuilt (entry points, dependencies). */
  packaging: Record<string, string>
  /** The hub volume's files from volumes/_shared/ and volumes/<env>/, by path in the volume. */
  hubFiles: Record<string, string>
  /** The dev users, when the pod reads them. */
  devUsers: string[] | null
  deployConfig: Record<string, string>
  /** Each image's build inputs without the clones (those are mounted). */
  images: Partial<Record<ImageKey, string>>
}

export interface SnapshotInput {
  env: Environment
  /** Clones mounted into the containers (stage-dev); none otherwise. */
  repos: DevRepo[]
  builds: ImageBuild[]
  readsDevUsers: boolean
  /** The environment's deploy settings with the overlay laid over them (resolveDeployConfig). */
  settings: DeployConfig
  repo: RepoPaths
}

/** Not part of what a clone is: git's own data, caches, build output. */
const CLONE_SKIP = /^(\.git|__pycache__|\.pytest_cache|.*\.egg-info|build|dist|\.venv)$/
const PACKAGING = ['pyproject.toml', 'setup.py', 'setup.cfg']
/** The image context's clones are mounted, not built in, as far as apply is concerned. */
const CONTEXT_SKIP = /^(_dev_build_data)$/

/** sha256 of a directory tree: each entry's path, mode and content, in name order. */
export function treeDigest(dir: string, skip: RegExp, leaveOut?: Set<string>): string {
  const hash = createHash('sha256')
  if (fs.existsSync(dir)) hashTree(hash, dir, skip, leaveOut)
  return hash.digest('hex')
}

/** A clone's tree without the version file its install writes (up seeds it into the clone once the image is built). */
function cloneDigest(dir: string): string {
  const version = generatedVersionFile(dir)
  return treeDigest(dir, CLONE_SKIP, new Set(version ? [version] : []))
}

const sha = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex')

function packagingDigest(dir: string): string {
  return sha(
    PACKAGING.map((name) => (fs.existsSync(path.join(dir, name)) ? fs.readFileSync(path.join(dir, name)) : '')).join(
      '\0',
    ),
  )
}

async function hubFileDigests(env: Environment): Promise<Record<string, string>> {
  const spec = hubVolumeSpec(env)
  if (!spec || !fs.existsSync(spec.srcDir)) return {}
  const entries = await specEntries(spec)
  return Object.fromEntries(
    entries.flatMap((e) => (e.source ? [[e.header.name, sha(`${e.header.mode}\0${fs.readFileSync(e.source)}`)]] : [])),
  )
}

type ContextDigests = Partial<Record<ImageKey, string>>

const contextDigests = (builds: ImageBuild[]): ContextDigests =>
  Object.fromEntries(builds.map((build) => [build.image, treeDigest(build.contextDir, CONTEXT_SKIP)]))

/** Each image's digest: its build line, its base image's ID (as present now) and its context's digest. */
async function imageDigests(
  builds: ImageBuild[],
  contexts: ContextDigests,
): Promise<Partial<Record<ImageKey, string>>> {
  const bases = await listImages(builds.flatMap((b) => baseImageOf(b) ?? []))
  const digests: Partial<Record<ImageKey, string>> = {}
  for (const build of builds) {
    const base = bases.find((image) => image.Names?.includes(baseImageOf(build) ?? ''))?.Id ?? 'absent'
    const argv = JSON.stringify(podmanBuildArgs(build))
    digests[build.image] = sha(`${argv}\0${base}\0${contexts[build.image]}`)
  }
  return digests
}

export function takeSnapshot(input: SnapshotInput): Promise<Snapshot> {
  return snapshotOf(input, contextDigests(input.builds))
}

/**
 * The sources as they are now, for `up` to record once its pod runs: an edit
 * made while `up` builds and starts is then one the next `apply` sees. Only
 * the base images are looked at again when it is finished, since the builds
 * may have pulled them.
 */
export async function beginSnapshot(input: SnapshotInput): Promise<() => Promise<Snapshot>> {
  const contexts = contextDigests(input.builds)
  const sources = await snapshotOf(input, contexts)
  return async () => ({ ...sources, images: await imageDigests(input.builds, contexts) })
}

async function snapshotOf(input: SnapshotInput, contexts: ContextDigests): Promise<Snapshot> {
  const { env, repos } = input
  const [hubFiles, images] = await Promise.all([hubFileDigests(env), imageDigests(input.builds, contexts)])
  return {
    clones: Object.fromEntries(repos.map((r) => [r.name, cloneDigest(r.dest)])),
    packaging: Object.fromEntries(repos.map((r) => [r.name, packagingDigest(r.dest)])),
    hubFiles,
    devUsers: input.readsDevUsers ? readDevUsers(env.devUsersFile, input.repo).map((u) => u.name) : null,
    deployConfig: Object.fromEntries(input.settings),
    images,
  }
}

/** What differs between two snapshots, by kind. */
export interface Changes {
  clones: string[]
  packaging: string[]
  hubFiles: { changed: string[]; removed: string[] }
  devUsers?: { added: string[]; removed: string[] }
  deployConfig: string[]
  images: ImageKey[]
}

const differing = (a: Record<string, unknown>, b: Record<string, unknown>): string[] =>
  [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k] !== b[k]).sort()

export function compareSnapshots(before: Snapshot, now: Snapshot): Changes {
  const users = (list: string[] | null) => new Set(list ?? [])
  const [was, is] = [users(before.devUsers), users(now.devUsers)]
  const added = [...is].filter((u) => !was.has(u))
  const removed = [...was].filter((u) => !is.has(u))
  return {
    clones: differing(before.clones, now.clones),
    packaging: differing(before.packaging, now.packaging),
    hubFiles: {
      changed: Object.keys(now.hubFiles).filter((f) => before.hubFiles[f] !== now.hubFiles[f]),
      removed: Object.keys(before.hubFiles).filter((f) => !(f in now.hubFiles)),
    },
    // The order counts too: the dummy login takes the first user.
    devUsers: JSON.stringify(before.devUsers) !== JSON.stringify(now.devUsers) ? { added, removed } : undefined,
    deployConfig: differing(before.deployConfig, now.deployConfig),
    images: differing(before.images, now.images) as ImageKey[],
  }
}

export const nothingChanged = (c: Changes): boolean =>
  !c.clones.length &&
  !c.packaging.length &&
  !c.hubFiles.changed.length &&
  !c.hubFiles.removed.length &&
  !c.devUsers &&
  !c.deployConfig.length &&
  !c.images.length
