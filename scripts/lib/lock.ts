// One `up`, `apply` or `down` of an environment at a time: a lock file holding
// the owner's pid and command. A lock whose process is gone is stale and taken over.
import fs from 'node:fs'
import path from 'node:path'
import { UserError } from './errors.ts'

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function acquireLock(file: string, what: string): () => void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${process.pid} ${what}\n`, { flag: 'wx', mode: 0o600 })
      return () => {
        try {
          if (fs.readFileSync(file, 'utf8').startsWith(`${process.pid} `)) fs.rmSync(file)
        } catch {
          // already gone
        }
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const [pidText, owner] = fs.readFileSync(file, 'utf8').trim().split(' ')
      const pid = Number(pidText)
      if (Number.isInteger(pid) && pid > 0 && processAlive(pid)) {
        throw new UserError(`another \`${owner ?? 'up/down'}\` is running (pid ${pid}); wait for it to finish`)
      }
      fs.rmSync(file, { force: true })
    }
  }
  throw new UserError(`could not take the lock ${file}`)
}
