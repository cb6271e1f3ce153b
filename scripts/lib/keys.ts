// The environment's SSH key pairs (passwordless ed25519): the client key the
// hub logs in with, and the Slurm sshd host key.
import fs from 'node:fs/promises'
import path from 'node:path'
import sshKeygenLite from 'ssh-keygen-lite'
import { UserError } from './errors.ts'
import { registerSecret } from './redact.ts'

export interface KeyPair {
  privateKey: string
  publicKey: string
}

export interface EnvironmentKeys {
  client: KeyPair
  host: KeyPair
}

/** The file names of the two private keys; each has a .pub beside it. */
export const KEY_FILES = { client: 'ssh_client_key', host: 'ssh_host_key' } as const

const COMMENT = 'JupyterHub-Slurm dev environment'

// ssh-keygen-lite is CommonJS: node hands us module.exports itself, while its
// typings describe an ES default export.
type Keygen = typeof sshKeygenLite.default
const keygen: Keygen =
  (sshKeygenLite as unknown as { default?: Keygen }).default ?? (sshKeygenLite as unknown as Keygen)

/**
 * Generates one key pair in `dir` (created 0700). The files stay only when
 * `keep` is set; the key text is registered so that it is never printed.
 */
export async function generateKeyPair(dir: string, name: string, comment: string, keep = false): Promise<KeyPair> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  const location = path.join(dir, name)
  let pair: { key: string; pubKey: string }
  try {
    pair = await keygen({ location, type: 'ed25519', comment, password: '', read: true, destroy: !keep, force: true })
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error)
    if (/invalid path to the binary|ENOENT/.test(text)) {
      throw new UserError('ssh-keygen is not installed; install OpenSSH (e.g. apt-get install openssh-client)')
    }
    throw new UserError(`ssh-keygen failed: ${text.split('\n')[0]}`)
  }
  registerSecret(pair.key)
  return { privateKey: `${pair.key}\n`, publicKey: pair.pubKey.trim() }
}

/** Generates the key pairs asked for (both by default). */
export async function generateEnvironmentKeys(
  dir: string,
  keep = false,
  which = { client: true, host: true },
): Promise<Partial<EnvironmentKeys>> {
  const [client, host] = await Promise.all([
    which.client ? generateKeyPair(dir, KEY_FILES.client, `${COMMENT} client key`, keep) : undefined,
    which.host ? generateKeyPair(dir, KEY_FILES.host, `${COMMENT} host key`, keep) : undefined,
  ])
  return { ...(client && { client }), ...(host && { host }) }
}
