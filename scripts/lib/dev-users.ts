// The dev_users file: one <USER>.<PROJECT> per line. These names reach
// useradd and sudo/ssh command lines in the Slurm container, so they are
// checked here, before anything runs.
import fs from 'node:fs'
import path from 'node:path'
import { UsageError } from './errors.ts'
import { describeFileError, type RepoPaths } from './paths.ts'

export interface DevUser {
  name: string
  user: string
  project: string
}

/** A POSIX-portable user name part: what useradd accepts without --badname. */
const PART = /^[a-z_][a-z0-9_-]*$/
/** useradd's limit on the whole name (UT_NAMESIZE - 1). */
export const MAX_NAME_LENGTH = 32

export function parseDevUsers(text: string, source = 'dev_users'): DevUser[] {
  const users: DevUser[] = []
  const seen = new Map<string, number>()
  text.split('\n').forEach((raw, index) => {
    const lineNo = index + 1
    const line = raw.replace(/\r$/, '').trim()
    if (line === '' || line.startsWith('#')) return
    const where = `${source}:${lineNo}`
    if (line.length > MAX_NAME_LENGTH) {
      throw new UsageError(`${where}: "${printable(line)}" is longer than ${MAX_NAME_LENGTH} characters`)
    }
    const parts = line.split('.')
    if (parts.length !== 2) {
      throw new UsageError(`${where}: "${printable(line)}" is not of the form <USER>.<PROJECT>`)
    }
    const [user, project] = parts as [string, string]
    for (const part of [user, project]) {
      if (!PART.test(part)) {
        throw new UsageError(
          `${where}: "${printable(line)}" is not a valid user name (each part: a lower-case letter or _, then lower-case letters, digits, _ or -)`,
        )
      }
    }
    const first = seen.get(line)
    if (first !== undefined) throw new UsageError(`${where}: "${line}" repeats line ${first}`)
    seen.set(line, lineNo)
    users.push({ name: line, user, project })
  })
  if (users.length === 0) throw new UsageError(`${source} lists no users (one <USER>.<PROJECT> per line)`)
  return users
}

/** Reads a dev_users file; messages name it relative to the repository. */
export function readDevUsers(file: string, repo: RepoPaths): DevUser[] {
  const shown = path.relative(repo.root, file)
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') {
      const example = fs.existsSync(`${file}.example`) ? ` (copy ${shown}.example to start)` : ''
      throw new UsageError(`${shown} not found${example}`)
    }
    throw new UsageError(`cannot read ${shown}: ${describeFileError(error)}`)
  }
  return parseDevUsers(text, shown)
}

/** The ConfigMap value: the names joined by single spaces. */
export const devUsersValue = (users: DevUser[]): string => users.map((u) => u.name).join(' ')

const printable = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?')
