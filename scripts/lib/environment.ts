// An environment is a pair of directories, config/<env> and volumes/<env>.
import fs from 'node:fs'
import path from 'node:path'
import { UsageError, UserError } from './errors.ts'
import { repoPaths } from './paths.ts'

export interface Environment {
  name: string
  configDir: string
  volumesDir: string
  devUsersFile: string
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

const isDir = (p: string): boolean => {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

/** Environments that have both a config and a volumes directory. */
export function listEnvironments(root?: string): string[] {
  const { config, volumes } = repoPaths(root)
  if (!isDir(config)) return []
  return fs
    .readdirSync(config)
    .filter((name) => NAME.test(name) && isDir(path.join(config, name)) && isDir(path.join(volumes, name)))
    .sort()
}

/**
 * Checks the name before touching any file: only plain names of existing
 * environments pass, so nothing can reach outside config/ or volumes/.
 */
export function resolveEnvironment(name: string | undefined, root?: string): Environment {
  const known = listEnvironments(root)
  const choices = known.length ? known.join(', ') : 'none found'
  if (!name) throw new UsageError(`no environment given; environments: ${choices}`)
  if (!NAME.test(name)) {
    throw new UsageError(`invalid environment name ${JSON.stringify(name)}; environments: ${choices}`)
  }
  if (!known.includes(name)) {
    throw new UserError(`unknown environment "${name}"; environments: ${choices}`, 2)
  }
  const { config, volumes } = repoPaths(root)
  const configDir = path.join(config, name)
  return {
    name,
    configDir,
    volumesDir: path.join(volumes, name),
    devUsersFile: path.join(configDir, 'dev_users'),
  }
}
