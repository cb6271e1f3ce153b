// dev_realauth_nadir's stand-in Nadir server (docs/nadir.md). Where a pod runs
// both the Nadir client and the development issuer, `up` brings up a Nadir
// server of its own, in a pod of its own, on a podman network the two pods
// share: sshd for the client's key (the client image's stage-dev), and the
// login front and the issuer, moved from the hub's pod to the server's, where
// production's authenticating proxy stands, before the tunnel. The hub's pod
// then publishes nothing; a relay in it lets the hub reach the issuer at the
// URL the browser uses (brics_jupyterhub/dev-login/relay.mjs).
import { DEV_LOGIN_CONTAINERS, runsDevIssuer } from './dev-issuer.ts'
import { containerName, imageRef, nadirServerPodName, type ResourceNames } from './names.ts'
import { NADIR_CLIENT, runsNadirClient } from './nadir.ts'
import type { Inventory, UpEnvironment } from './inventory.ts'
import { POD_PORTS } from './pod-facts.ts'
import { podman } from './podman.ts'
import type { Doc } from './template.ts'

/** The server pod's sshd container, and the relay's container in the hub's pod. */
export const NADIR_SERVER = 'nadir-server'
export const ISSUER_RELAY = 'issuer-relay'
/** Where the tunnel's remote forward listens on the server: the proxy's port, as the client forwards it (NADIR_CLIENT_REMOTE_PORT). */
const TUNNEL_PORT = POD_PORTS.proxy

interface Container {
  name: string
  volumeMounts?: Array<{ name: string; [key: string]: unknown }>
  [key: string]: unknown
}
interface Volume {
  name: string
  [key: string]: unknown
}
type PodDoc = Doc & { metadata?: Record<string, unknown>; spec: { containers: Container[]; volumes?: Volume[] } }

/** Whether `up` brings up the stand-in server for this pod (as it runs, after podForIssuer). */
export const runsStandInServer = (pod: Doc): boolean => runsNadirClient(pod as PodDoc) && runsDevIssuer(pod)

/**
 * The server's sshd: the client image's stage-dev, with the client's public
 * key as its only authorized key. The key's Secret is mounted with the
 * client's mode (0600): podman backs both pods' mounts of one Secret with the
 * same file, so a wider mode here would open the client's private key to
 * every user and ssh would refuse it. The start script copies the public key
 * to where sshd reads it, readable as sshd needs.
 */
const sshdContainer: Container = {
  name: NADIR_SERVER,
  image: imageRef('nadir-client'),
  command: ['/usr/local/bin/start-nadir-stand-in-server'],
  volumeMounts: [
    { name: 'ssh-nadir-key', mountPath: '/etc/nadir-server/client_key.pub', subPath: 'ssh_key.pub', readOnly: true },
  ],
}

const relayContainer = (server: string): Container => ({
  name: ISSUER_RELAY,
  image: imageRef('jupyterhub'),
  command: ['node', '/opt/dev-login/relay.mjs'],
  env: [{ name: 'ISSUER_RELAY_TO', value: server }],
  envFrom: [{ configMapRef: { name: 'deploy-config' } }, { configMapRef: { name: 'pod-facts' } }],
})

const mountedBy = (containers: Container[]): Set<string> =>
  new Set(containers.flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)))

/**
 * The hub's pod and the server's, from the environment's pod (as it runs):
 * the issuer and the front move to the server with what they mount, the
 * server gets sshd, the hub's pod the relay. Neither template name nor
 * image is the environment's yet: rendering places both pods alike.
 */
export function splitForStandIn(pod: Doc, names: ResourceNames): { hub: Doc; server: Doc } {
  const hub = structuredClone(pod) as PodDoc
  const moved = hub.spec.containers.filter((c) => DEV_LOGIN_CONTAINERS.includes(c.name))
  hub.spec.containers = [
    ...hub.spec.containers.filter((c) => !DEV_LOGIN_CONTAINERS.includes(c.name)),
    relayContainer(nadirServerPodName(names)),
  ]
  const serverContainers = [...moved, structuredClone(sshdContainer)]
  const inServer = mountedBy(serverContainers)
  const inHub = mountedBy(hub.spec.containers)
  const volumes = hub.spec.volumes ?? []
  hub.spec.volumes = volumes.filter((v) => inHub.has(v.name))
  const server: PodDoc = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: NADIR_SERVER },
    spec: { containers: serverContainers, volumes: volumes.filter((v) => inServer.has(v.name)) },
  }
  return { hub, server }
}

/** The server's pod under the environment's names: rendered like the hub's, then named as its own. */
export function asServerPod(rendered: Doc, names: ResourceNames): Doc {
  const pod = rendered as PodDoc
  return { ...pod, metadata: { ...pod.metadata, name: nadirServerPodName(names) } }
}

/** The tunnel's state: whether the server listens on the tunnel's port (the client's remote forward is up). */
export async function tunnelConnected(names: ResourceNames): Promise<boolean | undefined> {
  const tcp = await podman(['exec', containerName(serverNames(names), NADIR_SERVER), 'cat', '/proc/net/tcp'], {
    nothrow: true,
  })
  if (tcp.exitCode !== 0) return undefined
  const port = TUNNEL_PORT.toString(16).toUpperCase().padStart(4, '0')
  // 0100007F: 127.0.0.1; state 0A: listening.
  return new RegExp(`^\\s*\\d+: 0100007F:${port} 00000000:0000 0A `, 'm').test(tcp.stdout)
}

export interface TunnelStatus {
  /** The stand-in server's pod and its state. */
  server: string
  state: string
  /** Whether the client's remote forward listens on the server: the tunnel is up. */
  connected: boolean
}

/** The tunnel of an environment with a stand-in server; undefined for the others. */
export async function tunnelStatus(inventory: Inventory, up: UpEnvironment): Promise<TunnelStatus | undefined> {
  const pod = inventory.pods.find((p) => p.name === nadirServerPodName(up.names))
  if (!pod) return undefined
  const connected = pod.state === 'Running' && (await tunnelConnected(up.names)) === true
  return { server: pod.name, state: pod.state, connected }
}

/** The names of the server's pod, for containerName: its containers are <server pod>-<container>. */
export const serverNames = (names: ResourceNames): ResourceNames => ({ ...names, pod: nadirServerPodName(names) })

/** The containers of both ends of the tunnel, for `logs <env> tunnel`. */
export const tunnelContainers = (names: ResourceNames): string[] => [
  containerName(names, NADIR_CLIENT),
  containerName(serverNames(names), NADIR_SERVER),
]
