// A stand-in "cluster login node" for the external-Slurm environments: our
// own Slurm image (as the tests' `up` built it, under the test tag) in a container of its own,
// apart from the hub's pod, on a podman network of its own. It runs
// slurmctld, slurmd and sshd like the pod's Slurm container; what makes it a
// login node is only its configuration here:
// - sshd listens on the network (the image's drop-in listens on loopback);
// - jupyterspawner accepts the key the test gives the hub, from anywhere;
// - its host key is the one sshd generates at start, read back for the
//   known_hosts line the hub is given;
// - it has CLUSTER_GPUS GPUs (fewer than the spawn form's 4, so that a user
//   can ask for more than there are).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { newMungeKey } from '../../../scripts/lib/manifest-input.ts'
import { imageRef } from '../../../scripts/lib/names.ts'
import { podman } from '../../../scripts/lib/podman.ts'
import { repoRoot } from '../../../scripts/lib/paths.ts'
import { pollUntil } from '../../../scripts/lib/wait.ts'
import { TEST_TAG } from './test-environments.ts'

export const CLUSTER_NETWORK = 'jh-slurm-e2e-cluster'
export const CLUSTER_HOST = 'jh-slurm-e2e-login'
const IMAGE = imageRef('slurm', TEST_TAG)
export const CLUSTER_GPUS = 2

export interface Cluster {
  /** The hub's SSH client key (private key file, mode 0600) and its public half. */
  clientKeyFile: string
  /** `<host> <key type> <key>`: the login node's real host key. */
  knownHostsFile: string
  /** A known_hosts line for the same host with a key that is not its own. */
  wrongKnownHostsFile: string
  /** Runs a command on the login node. */
  exec(command: string[]): Promise<string>
  stop(): Promise<void>
}

function keygen(file: string, comment: string): string {
  fs.rmSync(file, { force: true })
  fs.rmSync(`${file}.pub`, { force: true })
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file])
  return fs.readFileSync(`${file}.pub`, 'utf8').trim()
}

/** Starts the login node; `dir` (under the repository: podman may run in another mount namespace) holds its files. */
export async function startCluster(dir: string, devUsers: string[]): Promise<Cluster> {
  await stopCluster()
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const clientKeyFile = path.join(dir, 'hub_ssh_key')
  const clientPublic = keygen(clientKeyFile, 'e2e hub client key')
  const authorizedKeys = path.join(dir, 'authorized_keys')
  fs.writeFileSync(authorizedKeys, `${clientPublic}\n`)
  // The image's sshd drop-in with the login node's difference: listen on the network.
  const dropIn = fs
    .readFileSync(path.join(repoRoot, 'brics_slurm', 'config', 'sshd-jupyterspawner.conf'), 'utf8')
    .replace(/^ListenAddress 127\.0\.0\.1$/m, 'ListenAddress 0.0.0.0')
    .replace(/^ListenAddress ::1$/m, '')
  const sshdConf = path.join(dir, 'sshd-jupyterspawner.conf')
  fs.writeFileSync(sshdConf, dropIn)
  // The cluster's own MUNGE key, where the Slurm image looks for it (its pods mount it from a Secret).
  const mungeKey = path.join(dir, 'munge.key')
  fs.writeFileSync(mungeKey, newMungeKey(), { mode: 0o600 })

  await podman(['network', 'create', CLUSTER_NETWORK])
  await podman([
    'run',
    '--detach',
    '--name',
    CLUSTER_HOST,
    '--hostname',
    CLUSTER_HOST,
    '--network',
    CLUSTER_NETWORK,
    '--env',
    `DEV_USER_CONFIG_UNIX_USERNAMES=${devUsers.join(' ')}`,
    '--env',
    `DEPLOY_CONFIG_SLURM_GPUS_PER_NODE=${CLUSTER_GPUS}`,
    '--volume',
    `${authorizedKeys}:/home/jupyterspawner/.ssh/authorized_keys`,
    '--volume',
    `${sshdConf}:/etc/ssh/sshd_config.d/jupyterspawner.conf:ro`,
    '--volume',
    `${mungeKey}:/etc/slurm-pod/munge.key:ro`,
    IMAGE,
  ])
  const exec = async (command: string[]) => (await podman(['exec', CLUSTER_HOST, ...command])).stdout.trim()
  const { value: hostKey } = await pollUntil(
    120_000,
    async () => {
      const log = await exec(['cat', '/var/log/sshd.log']).catch(() => '')
      if (!/Server listening on 0\.0\.0\.0 port 22/.test(log)) return undefined
      return exec(['cat', '/etc/ssh/ssh_host_ed25519_key.pub'])
    },
    1000,
  )
  if (!hostKey) throw new Error(`the stand-in login node ${CLUSTER_HOST} did not start sshd within 120 s`)
  const [type, key] = hostKey.split(/\s+/)
  const knownHostsFile = path.join(dir, 'known_hosts')
  fs.writeFileSync(knownHostsFile, `${CLUSTER_HOST} ${type} ${key}\n`)
  const wrongKnownHostsFile = path.join(dir, 'wrong_known_hosts')
  const wrong = keygen(path.join(dir, 'not_the_host_key'), 'not the host key').split(/\s+/)
  fs.writeFileSync(wrongKnownHostsFile, `${CLUSTER_HOST} ${wrong[0]} ${wrong[1]}\n`)
  return { clientKeyFile, knownHostsFile, wrongKnownHostsFile, exec, stop: stopCluster }
}

export async function stopCluster(): Promise<void> {
  await podman(['rm', '--force', '--time', '0', CLUSTER_HOST], { nothrow: true })
  await podman(['network', 'rm', '--force', CLUSTER_NETWORK], { nothrow: true })
}
