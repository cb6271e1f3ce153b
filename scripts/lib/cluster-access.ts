// The files an operator supplies for an environment whose Slurm is outside
// the pod: the hub's SSH key and the login node's host key line(s).
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { UsageError } from './errors.ts'
import { exec } from './exec.ts'
import type { KeyPair } from './keys.ts'
import { readUserFile } from './paths.ts'
import { registerSecret } from './redact.ts'

export interface ClusterAccess {
  clientKey: KeyPair
  knownHosts: string
}

export interface ClusterFiles {
  clientKey?: string
  knownHosts?: string
}

const CLIENT_KEY = '--ssh-client-key (JH_SLURM_SSH_CLIENT_KEY)'
const KNOWN_HOSTS = '--ssh-known-hosts (JH_SLURM_SSH_KNOWN_HOSTS)'

/** The known_hosts lines of the file, or a usage error naming it. */
function readKnownHosts(file: string): string {
  const lines = readUserFile(path.resolve(file), `known_hosts file given with ${KNOWN_HOSTS}`)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
  if (lines.length === 0 || lines.some((l) => l.split(/\s+/).length < 3)) {
    throw new UsageError(`${file} (${KNOWN_HOSTS}): expected known_hosts lines "<host> <key type> <key>"`)
  }
  return `${lines.join('\n')}\n`
}

/** The public half of a private key, derived with ssh-keygen from a private copy (it refuses a readable one). */
async function publicKeyOf(keyText: string, file: string, option: string): Promise<string> {
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'jh_slurm_key.'))
  try {
    const copy = path.join(scratch, 'key')
    await fs.writeFile(copy, keyText, { mode: 0o600 })
    const derived = await exec(['ssh-keygen', '-y', '-f', copy], { nothrow: true })
    if (derived.exitCode !== 0) {
      const reason = derived.stderr.trim().split('\n').pop() || `exit ${derived.exitCode}`
      throw new UsageError(
        `${file} (${option}): ssh-keygen cannot read it (${reason}); give a key without a passphrase`,
      )
    }
    return derived.stdout.trim()
  } finally {
    await fs.rm(scratch, { recursive: true, force: true })
  }
}

/**
 * An operator's SSH private key file (`option` names the option and variable
 * it came through), checked before anything is made, with its public half
 * derived by ssh-keygen; `what` says whose key it is in errors.
 */
export async function readPrivateKeyFile(file: string, option: string, what: string): Promise<KeyPair> {
  const privateKey = readUserFile(path.resolve(file), `${what} given with ${option}`)
  if (!/^-----BEGIN [A-Z ]*PRIVATE KEY-----/m.test(privateKey))
    throw new UsageError(`${file} (${option}) is not an SSH private key (PEM/OpenSSH, without a passphrase)`)
  registerSecret(privateKey.trim())
  const keyText = privateKey.endsWith('\n') ? privateKey : `${privateKey}\n`
  return { privateKey: keyText, publicKey: await publicKeyOf(keyText, file, option) }
}

/**
 * Reads the files an external-Slurm environment needs, checking them before
 * anything is made: the private key (its public half derived with ssh-keygen)
 * and the known_hosts lines.
 */
export async function readClusterAccess(envName: string, files: ClusterFiles): Promise<ClusterAccess> {
  if (!files.clientKey || !files.knownHosts) {
    throw new UsageError(
      `${envName} runs its jobs on a Slurm cluster outside the pod: give the hub's SSH key with --ssh-client-key FILE (or JH_SLURM_SSH_CLIENT_KEY) and the login node's host key with --ssh-known-hosts FILE (or JH_SLURM_SSH_KNOWN_HOSTS); see README.md`,
    )
  }
  const clientKey = await readPrivateKeyFile(files.clientKey, CLIENT_KEY, 'SSH client key')
  return { clientKey, knownHosts: readKnownHosts(files.knownHosts) }
}
