// The Nadir tunnel (docs/nadir.md): a pod whose template has the container
// `nadir-client` reaches the outside only through a reverse SSH tunnel to a
// Nadir server. The client needs two Secrets: its SSH key pair and the
// server's host name. The operator gives both as files (prod), or, where the
// environment runs the development issuer (dev_realauth_nadir), the launcher
// makes them and brings up a stand-in server of its own.
import path from 'node:path'
import { readPrivateKeyFile } from './cluster-access.ts'
import { UsageError } from './errors.ts'
import type { KeyPair } from './keys.ts'
import { readUserFile } from './paths.ts'

/** The client's container in a pod template, named after its image. */
export const NADIR_CLIENT = 'nadir-client'

export interface NadirAccess {
  key: KeyPair
  /** The server's host name, as the client reads it from /etc/nadir/server_address. */
  serverAddress: string
}

export interface NadirFiles {
  sshKey?: string
  serverAddress?: string
}

const SSH_KEY = '--nadir-ssh-key (JH_SLURM_NADIR_SSH_KEY)'
const SERVER_ADDRESS = '--nadir-server-address (JH_SLURM_NADIR_SERVER_ADDRESS)'

/** A host name or an IP address, as ssh takes it after `nadir@`. */
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|[0-9A-Fa-f:.]+)$/

/** Whether a pod (as it runs) has the tunnel's client. */
export const runsNadirClient = (pod: { spec?: { containers?: Array<{ name: string }> } }): boolean =>
  (pod.spec?.containers ?? []).some((c) => c.name === NADIR_CLIENT)

/** The server's host name from the operator's file: one line (as upstream's examples/prod/nadir_config), or a usage error naming it. */
export function readServerAddress(file: string): string {
  const lines = readUserFile(path.resolve(file), `Nadir server address file given with ${SERVER_ADDRESS}`)
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
  const [address] = lines
  if (lines.length !== 1 || address === undefined || address.length > 253 || !HOST.test(address))
    throw new UsageError(
      `${file} (${SERVER_ADDRESS}): expected one line holding the Nadir server's host name (e.g. ssh.example.com)`,
    )
  return address
}

/**
 * Reads the operator's files for the tunnel, checking them before anything
 * is made: the client's private key (its public half derived with
 * ssh-keygen) and the server's address.
 */
export async function readNadirAccess(envName: string, files: NadirFiles): Promise<NadirAccess> {
  if (!files.sshKey || !files.serverAddress)
    throw new UsageError(
      `${envName} is reached through a Nadir tunnel: give the tunnel client's SSH key with --nadir-ssh-key FILE (or JH_SLURM_NADIR_SSH_KEY) and a file holding the Nadir server's host name with --nadir-server-address FILE (or JH_SLURM_NADIR_SERVER_ADDRESS); see docs/nadir.md`,
    )
  const serverAddress = readServerAddress(files.serverAddress)
  return { key: await readPrivateKeyFile(files.sshKey, SSH_KEY, 'Nadir client key'), serverAddress }
}

/** The Secrets' files, as the client's container mounts them under /etc/nadir/. */
export const nadirKeyFiles = (access: NadirAccess): Record<string, string> => ({
  ssh_key: access.key.privateKey,
  'ssh_key.pub': `${access.key.publicKey}\n`,
})
export const nadirConfigFiles = (access: NadirAccess): Record<string, string> => ({
  server_address: `${access.serverAddress}\n`,
})
