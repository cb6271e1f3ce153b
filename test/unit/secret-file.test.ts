// Secret files: created with their mode, never through a link, moved into place.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { writeSecretFile } from '../../scripts/lib/secret-file.ts'
import { tempDir } from '../helpers.ts'

const mode = (file: string) => fs.statSync(file).mode & 0o777

test('a new secret file is 0600 whatever the umask, and nothing else is left beside it', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'password')
  const old = process.umask(0)
  try {
    await writeSecretFile(file, 'secret\n')
  } finally {
    process.umask(old)
  }
  assert.is(fs.readFileSync(file, 'utf8'), 'secret\n')
  assert.is(mode(file), 0o600)
  assert.equal(fs.readdirSync(dir), ['password'])
})

test('a wider file in the way is replaced by a new one, not written into and then narrowed', async () => {
  const dir = tempDir()
  const file = path.join(dir, 'manifest.yaml')
  fs.writeFileSync(file, 'old\n', { mode: 0o644 })
  fs.chmodSync(file, 0o644)
  // Someone holding the old file open reads only the old text.
  const reader = fs.openSync(file, 'r')
  const before = fs.statSync(file).ino
  await writeSecretFile(file, 'private key\n')
  assert.is(mode(file), 0o600)
  assert.is.not(fs.statSync(file).ino, before)
  assert.is(fs.readFileSync(reader, 'utf8'), 'old\n')
  fs.closeSync(reader)
})

test('a symbolic link in the way is refused and its target left alone', async () => {
  const dir = tempDir()
  const target = path.join(dir, 'elsewhere')
  fs.writeFileSync(target, 'theirs\n', { mode: 0o644 })
  const link = path.join(dir, 'password')
  fs.symlinkSync(target, link)
  try {
    await writeSecretFile(link, 'secret\n')
    assert.unreachable('wrote through a symbolic link')
  } catch (error) {
    assert.match((error as Error).message, /is a symbolic link; not writing secrets through it/)
  }
  assert.is(fs.readFileSync(target, 'utf8'), 'theirs\n')
  assert.ok(fs.lstatSync(link).isSymbolicLink())
  assert.equal(fs.readdirSync(dir).sort(), ['elsewhere', 'password'])
})

test('a directory in the way is refused with one line', async () => {
  const dir = tempDir()
  fs.mkdirSync(path.join(dir, 'password'))
  try {
    await writeSecretFile(path.join(dir, 'password'), 'x')
    assert.unreachable('wrote over a directory')
  } catch (error) {
    assert.match((error as Error).message, /exists and is not a plain file/)
  }
})

test.run()
