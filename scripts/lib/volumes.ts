// Named volumes: created and filled from volumes/<env>/. The tar stream is
// made in-process with the owner set on every entry, so the result does not
// depend on which tar the host has.
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import tarStream from 'tar-stream'
import { onOff } from './cli.ts'
import type { Environment } from './environment.ts'
import { UserError } from './errors.ts'
import { exec } from './exec.ts'
import { ENV_LABEL, VOLUME_DIRS, type VolumeKey } from './names.ts'
import { type Owner, type VolumeOwners, volumeOwners } from './owners.ts'
import { podman, podmanCommand, podmanSucceeds, remoteLimit } from './podman.ts'

/** Files that only keep empty directories in git. */
const SKIPPED = new Set(['.gitkeep'])
/** A fixed time, so that the same tree always gives the same archive. */
const MTIME = new Date('2024-01-01T00:00:00Z')

/** The tar header fields this tool sets (a name of its own: `Headers` is the fetch API's). */
export interface TarHeader {
  name: string
  type: 'file' | 'directory' | 'symlink'
  mode: number
  uid: number
  gid: number
  uname: string
  gname: string
  mtime: Date
  size?: number
  linkname?: string
}

export interface VolumeEntry {
  header: TarHeader
  /** Absolute path of a regular file's content. */
  source?: string
}

/**
 * Lists the archive entries for directory trees laid over each other (a
 * later tree's file replaces an earlier one's of the same name), parents
 * first, in name order. The top directory takes the mode of the last tree.
 */
export async function volumeEntries(srcDirs: string | string[], owner: Owner): Promise<VolumeEntry[]> {
  const dirs = typeof srcDirs === 'string' ? [srcDirs] : srcDirs
  const byName = new Map<string, VolumeEntry>()
  const base = { uid: owner.uid, gid: owner.gid, uname: owner.uname, gname: owner.gname, mtime: MTIME }
  const rootStat = await fs.stat(dirs[dirs.length - 1] as string)
  byName.set('./', { header: { ...base, name: './', type: 'directory', mode: rootStat.mode & 0o7777 } })
  async function walk(dir: string, prefix: string): Promise<void> {
    for (const name of await fs.readdir(dir)) {
      if (SKIPPED.has(name)) continue
      const full = path.join(dir, name)
      const rel = `${prefix}${name}`
      const stat = await fs.lstat(full)
      const mode = stat.mode & 0o7777
      if (stat.isDirectory()) {
        byName.set(`${rel}/`, { header: { ...base, name: `${rel}/`, type: 'directory', mode } })
        await walk(full, `${rel}/`)
      } else if (stat.isSymbolicLink()) {
        byName.set(rel, { header: { ...base, name: rel, type: 'symlink', mode, linkname: await fs.readlink(full) } })
      } else if (stat.isFile()) {
        byName.set(rel, { header: { ...base, name: rel, type: 'file', mode, size: stat.size }, source: full })
      }
    }
  }
  for (const dir of dirs) await walk(dir, './')
  // Sorted by path components, so that a directory comes before what it holds.
  const key = (name: string) => name.replace(/\/$/, '').split('/')
  return [...byName.values()].sort((a, b) => {
    const [x, y] = [key(a.header.name), key(b.header.name)]
    for (let i = 0; i < Math.min(x.length, y.length); i++)
      if (x[i] !== y[i]) return (x[i] as string) < (y[i] as string) ? -1 : 1
    return x.length - y.length
  })
}

/** A tar stream of `entries` (volumeEntries: owners set, .gitkeep files left out). */
export function packVolume(entries: VolumeEntry[]): Readable {
  const pack = tarStream.pack()
  ;(async () => {
    for (const { header, source } of entries) {
      const body = source ? await fs.readFile(source) : undefined
      await new Promise<void>((resolve, reject) => {
        const done = (error?: Error | null) => (error ? reject(error) : resolve())
        if (body) pack.entry(header as unknown as tarStream.Header, body, done)
        else pack.entry(header as unknown as tarStream.Header, done)
      })
    }
    pack.finalize()
  })().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))))
  return pack as unknown as Readable
}

/**
 * How a volume gets its files. A local podman imports the tar stream itself;
 * a remote client (a podman machine on macOS) cannot (`volume import` is not
 * in the remote API), so a short-lived container of an image that is there
 * already unpacks the stream into the volume. JH_SLURM_VOLUME_IMPORT_VIA_MACHINE
 * makes the machine's own podman import it, over `podman machine ssh`.
 */
export type VolumeFill = { via: 'import' } | { via: 'machine' } | { via: 'container'; image: string }

/** The way to fill volumes for a podman that is `remote` or not; `image` is the one a container would run. */
export function volumeFill(remote: boolean, image: string | undefined, vars = process.env): VolumeFill {
  if (onOff('JH_SLURM_VOLUME_IMPORT_VIA_MACHINE', vars)) return { via: 'machine' }
  if (!remote) return { via: 'import' }
  if (!image) throw new UserError('the remote podman cannot import volumes, and no image is there to fill them with')
  return { via: 'container', image }
}

/** The command that reads a tar stream on stdin into the volume `name`. */
export function volumeFillCommand(name: string, fill: VolumeFill, vars = process.env): string[] {
  const podmanCmd = podmanCommand(vars)
  if (fill.via === 'import') return [...podmanCmd, 'volume', 'import', name, '-']
  if (fill.via === 'machine') return [...podmanCmd, 'machine', 'ssh', 'podman', 'volume', 'import', name, '-']
  // As podman volume import does: numeric owners, the volume's own top
  // directory left as it is; SELinux labelling off, so that the files get the
  // volume's shared label as an import gives them.
  return [
    ...podmanCmd,
    ...['run', '--interactive', '--rm', '--pull', 'never', '--network', 'none', '--user', '0:0'],
    ...['--security-opt', 'label=disable', '--entrypoint', 'tar', '--volume', `${name}:/volume`, fill.image],
    ...['--extract', '--numeric-owner', '--no-overwrite-dir', '--directory', '/volume', '--file', '-'],
  ]
}

/** Fills the volume `name` with the archive of `entries`. */
export async function fillVolume(
  name: string,
  entries: VolumeEntry[],
  fill: VolumeFill,
  onLine?: (line: string) => void,
): Promise<void> {
  await exec(volumeFillCommand(name, fill), { input: packVolume(entries), onLine }).catch((error: unknown) => {
    throw remoteLimit(error)
  })
}

export interface VolumeSpec {
  name: string
  /** The environment it belongs to (a label on the volume). */
  envName: string
  /** volumes/<env>/<dir>: the environment's own files. */
  srcDir: string
  /** volumes/_shared/<dir>, laid under srcDir, when it exists. */
  sharedDir?: string
  owner: Owner
}

/** Files every environment's volumes get, under its own: volumes/_shared/. */
export const SHARED_VOLUMES_DIR = '_shared'

/** The volumes of an environment: those named in `used` (those its pod claims), by default all of them. */
export function volumeSpecs(
  env: Environment,
  owners: VolumeOwners,
  used: VolumeKey[] = Object.keys(VOLUME_DIRS) as VolumeKey[],
): VolumeSpec[] {
  return (Object.keys(VOLUME_DIRS) as VolumeKey[])
    .filter((key) => used.includes(key))
    .map((key) => {
      const sharedDir = path.join(env.sharedVolumesDir, VOLUME_DIRS[key])
      return {
        name: env.names.volumes[key],
        envName: env.name,
        srcDir: path.join(env.volumesDir, VOLUME_DIRS[key]),
        sharedDir: existsSync(sharedDir) ? sharedDir : undefined,
        owner: owners[key],
      }
    })
}

/** A volume's files: volumes/_shared/'s for it, overlaid by the environment's own. */
export const specEntries = (spec: VolumeSpec): Promise<VolumeEntry[]> =>
  volumeEntries(spec.sharedDir ? [spec.sharedDir, spec.srcDir] : [spec.srcDir], spec.owner)

/** The environment's hub volume, as the apply and its snapshot see it. */
export const hubVolumeSpec = (env: Environment): VolumeSpec | undefined =>
  volumeSpecs(env, volumeOwners(), ['jupyterhub'])[0]

/** Creates one volume and imports its initial contents; an existing volume is refused. */
export async function createVolume(
  spec: VolumeSpec,
  fill: VolumeFill,
  onLine?: (line: string) => void,
  checkExisting = true,
): Promise<void> {
  try {
    if (!(await fs.stat(spec.srcDir)).isDirectory()) throw new Error('not a directory')
  } catch {
    throw new UserError(`initial volume data ${spec.srcDir} is missing`)
  }
  if (checkExisting && (await podmanSucceeds(['volume', 'exists', spec.name]))) {
    throw new UserError(`volume ${spec.name} already exists; run \`jh-slurm-pod down ${spec.envName}\` first`)
  }
  const entries = await specEntries(spec)
  await podman(['volume', 'create', '--label', `${ENV_LABEL}=${spec.envName}`, spec.name], { onLine })
  await fillVolume(spec.name, entries, fill, onLine)
  onLine?.(
    `${spec.name}: ${entries.length} entries owned by ${spec.owner.uname}:${spec.owner.gname} (${spec.owner.uid}:${spec.owner.gid})`,
  )
}
