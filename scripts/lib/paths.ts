// Where things live in the repository. Every path is absolute: podman may run
// in another mount namespace or chroot (see JH_SLURM_PODMAN), where a relative
// path would resolve against a different working directory.
import fs from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { UserError } from './errors.ts'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = path.resolve(fileURLToPath(new URL('../..', import.meta.url)))

export const pathExists = (p: string): Promise<boolean> =>
  fs.stat(p).then(
    () => true,
    () => false,
  )

/** Reads a file the user named; a missing or unreadable one is a one-line error naming `what`. */
export function readUserFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new UserError(`cannot read ${what} ${file}: ${(error as NodeJS.ErrnoException).code ?? error}`)
  }
}

export interface RepoPaths {
  root: string
  config: string
  volumes: string
  buildTmp: string
  podTemplate: string
  /** One `up` or `down` at a time per environment. */
  lockFile: (env: string) => string
  /** The podman version checked last (see checkPodman). */
  podmanVersionCache: string
  /** The dummy login password of an environment that is up (mode 0600). */
  devLoginPasswordFile: (env: string) => string
}

/** Build directories are named <prefix><env>.<random>. */
export const BUILD_DIR_PREFIX = 'jh_slurm_pod_'

export function repoPaths(root: string = repoRoot): RepoPaths {
  const buildTmp = path.join(root, '_build_tmp')
  return {
    root,
    config: path.join(root, 'config'),
    volumes: path.join(root, 'volumes'),
    buildTmp,
    podTemplate: path.join(root, 'jh_slurm_pod.yaml'),
    lockFile: (env) => path.join(buildTmp, `.lock.${env}`),
    podmanVersionCache: path.join(buildTmp, '.podman-version'),
    devLoginPasswordFile: (env) => path.join(buildTmp, `dev_login_password.${env}`),
  }
}
