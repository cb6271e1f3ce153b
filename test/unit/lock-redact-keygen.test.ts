import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { generateEnvironmentKeys } from '../../scripts/lib/keys.ts'
import { acquireLock } from '../../scripts/lib/lock.ts'
import { redact, registerSecret } from '../../scripts/lib/redact.ts'
import { tempDir } from '../helpers.ts'

const dir = tempDir()

test('a second up/down is refused while the first holds the lock', () => {
  const file = path.join(dir, 'lock')
  const release = acquireLock(file, 'up')
  assert.throws(() => acquireLock(file, 'down'), new RegExp(`another \`up\` is running \\(pid ${process.pid}\\)`))
  release()
  acquireLock(file, 'down')()
  assert.not.ok(fs.existsSync(file))
})

test('a stale lock (its process is gone) is taken over', () => {
  const file = path.join(dir, 'stale')
  fs.writeFileSync(file, '999999999 up\n')
  const release = acquireLock(file, 'up')
  assert.match(fs.readFileSync(file, 'utf8'), new RegExp(`^${process.pid} up`))
  release()
})

test('registered secrets are replaced in printed text', () => {
  registerSecret('-----BEGIN X-----\nAAAABBBBCCCCDDDDEEEE\n-----END X-----\n')
  assert.is(redact('key: AAAABBBBCCCCDDDDEEEE here'), 'key: [redacted] here')
  assert.is(redact('-----BEGIN X-----'), '-----BEGIN X-----')
})

test('keys are ed25519 with the comments of the environment, files kept only on request', async () => {
  const gone = path.join(dir, 'gone')
  const { client, host } = await generateEnvironmentKeys(gone)
  if (!client || !host) throw new Error('both key pairs are made by default')
  const keys = { client, host }
  assert.match(
    keys.client.privateKey,
    /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+-----END OPENSSH PRIVATE KEY-----\n$/,
  )
  assert.match(keys.client.publicKey, /^ssh-ed25519 \S+ JupyterHub-Slurm dev environment client key$/)
  assert.match(keys.host.publicKey, /^ssh-ed25519 \S+ JupyterHub-Slurm dev environment host key$/)
  assert.is.not(keys.client.publicKey, keys.host.publicKey)
  assert.equal(fs.readdirSync(gone), [])
  assert.is(fs.statSync(gone).mode & 0o777, 0o700)
  const kept = path.join(dir, 'kept')
  await generateEnvironmentKeys(kept, true)
  assert.is(fs.statSync(path.join(kept, 'ssh_client_key')).mode & 0o777, 0o600)
  assert.ok(redact(keys.client.privateKey).includes('[redacted]'))
})

test.after(() => fs.rmSync(dir, { recursive: true, force: true }))
test.run()
