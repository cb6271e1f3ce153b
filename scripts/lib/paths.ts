// Where things live in the repository. Every path is absolute: podman may run
// in another mount namespace or chroot (see JH_SLURM_PODMAN), where a relative
// path would resolve against a different working directory.
import fs from 'node:fs/promises'
import { readFileSync, statSync } from 'node:fs'
import { UsageError } from './errors.ts'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)))

export const pathExists = (p: string): Promise<boolean> =>
  fs.stat(p).then(
    () => true,
    () => false,
  )

/** A file system error in words (no raw ENOENT). */
export function describeFileError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code
  const words: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a part of the path is not a directory',
  }
  return (code && words[code]) ?? code ?? String(error)
}

/** Reads a settings file; a missing or unreadable one is a usage error (exit 2) naming `what`. */
export function readUserFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${file}: ${describeFileError(error)}`)
  }
}

export interface RepoPaths {
  root: string
  /** The folder holding config/<env>/ and volumes/<env>/: the checkout, or JH_SLURM_ENVIRONMENTS_DIR. */
  environments: string
  config: string
  volumes: string
  /** volumes/_shared/ of the environments folder when it has one, else the checkout's. */
  sharedVolumes: string
  buildTmp: string
  podTemplate: string
  /** One `up` or `down` at a time per environment. */
  lockFile: (env: string) => string
  /** The dummy login password of an environment that is up (mode 0600). */
  devLoginPasswordFile: (env: string) => string
}

/** Files every environment's volumes get, under its own. */
const SHARED_VOLUMES = '_shared'

/** Build directories are named <prefix><env>.<random>. */
export const BUILD_DIR_PREFIX = 'jh_slurm_pod_'

export const ENVIRONMENTS_DIR_VARIABLE = 'JH_SLURM_ENVIRONMENTS_DIR'

const isDirectory = (p: string): boolean => statSync(p, { throwIfNoEntry: false })?.isDirectory() ?? false

/**
 * Where the environments are: the folder JH_SLURM_ENVIRONMENTS_DIR names
 * (absolute, as podman may start elsewhere), else the checkout.
 */
export function environmentsDir(root: string = repoRoot, vars: NodeJS.ProcessEnv = process.env): string {
  const given = vars[ENVIRONMENTS_DIR_VARIABLE]
  if (!given) return root
  const dir = path.resolve(given)
  if (!isDirectory(dir)) throw new UsageError(`${ENVIRONMENTS_DIR_VARIABLE}=${given}: no such folder`)
  return dir
}

/** The checkout's paths; config/ and volumes/ are those of `environments`. The pod template and the build folder stay the checkout's. */
export function repoPaths(root: string = repoRoot, environments: string = environmentsDir(root)): RepoPaths {
  const buildTmp = path.join(root, '_build_tmp')
  const volumes = path.join(environments, 'volumes')
  const shared = path.join(volumes, SHARED_VOLUMES)
  return {
    root,
    environments,
    config: path.join(environments, 'config'),
    volumes,
    sharedVolumes: isDirectory(shared) ? shared : path.join(root, 'volumes', SHARED_VOLUMES),
    buildTmp,
    podTemplate: path.join(root, 'jh_slurm_pod.yaml'),
    lockFile: (env) => path.join(buildTmp, `.lock.${env}`),
    devLoginPasswordFile: (env) => path.join(buildTmp, `dev_login_password.${env}`),
  }
}
