// Files that hold secrets (the dev login password, manifests with private
// keys) are never readable by anyone else, not even for a moment: each is
// written to a fresh file created with mode 0600 (O_EXCL, so nothing that was
// there before is reused; O_NOFOLLOW, so no link is followed), then renamed
// over its place. A symbolic link or anything but a plain file in that place
// is refused rather than replaced.
import crypto from 'node:crypto'
import { constants } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import { UserError } from './errors.ts'
import { describeFileError } from './paths.ts'

const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

async function refuseLinks(file: string): Promise<void> {
  const stat = await fs.lstat(file).catch(() => undefined)
  if (stat?.isSymbolicLink()) throw new UserError(`${file} is a symbolic link; not writing secrets through it`)
  if (stat && !stat.isFile()) throw new UserError(`${file} exists and is not a plain file; not writing secrets there`)
}

/** Writes `text` to `file`, readable by its owner only from the first byte on. */
export async function writeSecretFile(file: string, text: string): Promise<void> {
  await refuseLinks(file)
  const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${crypto.randomBytes(6).toString('hex')}`)
  let handle: fs.FileHandle
  try {
    handle = await fs.open(temporary, CREATE_NEW, 0o600)
  } catch (error) {
    throw new UserError(`cannot write ${file}: ${describeFileError(error)}`)
  }
  try {
    await handle.writeFile(text)
    await handle.close()
    await fs.rename(temporary, file)
  } catch (error) {
    await handle.close().catch(() => undefined)
    await fs.rm(temporary, { force: true })
    throw new UserError(`cannot write ${file}: ${describeFileError(error)}`)
  }
}
