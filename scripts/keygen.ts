// Step: generate the two SSH key pairs of the environment (passwordless
// ed25519): the client key the hub logs in with, and the Slurm sshd host key.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import sshKeygenLite from 'ssh-keygen-lite'
import { parseCommandLine } from './lib/cli.ts'
import { UserError } from './lib/errors.ts'
import { runStep } from './lib/main.ts'
import { registerSecret } from './lib/redact.ts'

export interface KeyPair {
  privateKey: string
  publicKey: string
}

export interface EnvironmentKeys {
  client: KeyPair
  host: KeyPair
}

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

/** Generates the environment's key pairs, or only those asked for. */
export async function generateEnvironmentKeys(dir: string, keep?: boolean): Promise<EnvironmentKeys>
export async function generateEnvironmentKeys(
  dir: string,
  keep: boolean,
  which: { client: boolean; host: boolean },
): Promise<Partial<EnvironmentKeys>>
export async function generateEnvironmentKeys(
  dir: string,
  keep = false,
  which = { client: true, host: true },
): Promise<Partial<EnvironmentKeys>> {
  const [client, host] = await Promise.all([
    which.client ? generateKeyPair(dir, 'ssh_client_key', `${COMMENT} client key`, keep) : undefined,
    which.host ? generateKeyPair(dir, 'ssh_host_key', `${COMMENT} host key`, keep) : undefined,
  ])
  return { ...(client && { client }), ...(host && { host }) }
}

export const cli = {
  command: 'keygen',
  summary: 'Generate the client and host SSH key pairs of the environment into a directory (mode 0700, keys 0600).',
  options: {
    out: { type: 'string', value: 'DIR', description: 'directory for the keys (default: a new temporary directory)' },
  },
} as const

runStep('keygen', async () => {
  const { values } = parseCommandLine(cli)
  const dir = values.out ? path.resolve(values.out) : await fs.mkdtemp(path.join(os.tmpdir(), 'jh_slurm_keys.'))
  await generateEnvironmentKeys(dir, true)
  for (const name of ['ssh_client_key', 'ssh_host_key']) {
    console.log(`${path.join(dir, name)} (private, keep it secret) and ${path.join(dir, `${name}.pub`)}`)
  }
})
