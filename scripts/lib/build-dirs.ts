// Build directories under _build_tmp/: one per `up`, holding its SSH keys and
// manifest. Each records the pid of the run that made it; a run that keeps
// its directory on purpose (--keep-build-data) marks it so. `down` removes
// the directories of runs that died without cleaning up (SIGKILL, a crash).
import fs from 'node:fs'
import path from 'node:path'
import { BUILD_DIR_PREFIX, type RepoPaths } from './paths.ts'
import { processAlive } from './lock.ts'

const OWNER = '.owner'
const KEPT = '.kept'

/** Makes a build directory (mode 0700) owned by this process. */
export function makeBuildDir(repo: RepoPaths, envName: string): string {
  const { buildTmp } = repo
  fs.mkdirSync(buildTmp, { recursive: true, mode: 0o700 })
  const dir = fs.mkdtempSync(path.join(buildTmp, `${BUILD_DIR_PREFIX}${envName}.`))
  fs.chmodSync(dir, 0o700)
  fs.writeFileSync(path.join(dir, OWNER), `${process.pid}\n`, { mode: 0o600 })
  return dir
}

/** Marks a build directory as kept on purpose: `down` leaves it. */
export function markKept(dir: string): void {
  fs.writeFileSync(path.join(dir, KEPT), 'kept with --keep-build-data\n', { mode: 0o600 })
}

function ownerPid(dir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dir, OWNER), 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

/**
 * Build directories whose run is gone and that were not kept on purpose.
 * A directory without an owner record (made by an older version) is left
 * alone: it may have been kept.
 */
export function deadBuildDirs(repo: RepoPaths): string[] {
  const { buildTmp } = repo
  let names: string[]
  try {
    names = fs.readdirSync(buildTmp)
  } catch {
    return []
  }
  return names
    .filter((name) => name.startsWith(BUILD_DIR_PREFIX))
    .map((name) => path.join(buildTmp, name))
    .filter((dir) => {
      if (fs.existsSync(path.join(dir, KEPT))) return false
      const pid = ownerPid(dir)
      return pid !== undefined && !processAlive(pid)
    })
}

export function removeDeadBuildDirs(repo: RepoPaths, onLine?: (line: string) => void): string[] {
  const dead = deadBuildDirs(repo)
  for (const dir of dead) {
    fs.rmSync(dir, { recursive: true, force: true })
    onLine?.(`removed build directory ${path.relative(repo.root, dir)} left by a run that died`)
  }
  return dead
}
