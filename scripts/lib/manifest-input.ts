// The one builder of a manifest's input. `up`, `manifest` and the tests work
// out a RenderPlan (what the environment's pod uses, with its settings) and
// turn it, with the keys and password made for the run, into the input of
// renderManifest.
import crypto from 'node:crypto'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { type ClusterAccess, type ClusterFiles, readClusterAccess } from './cluster-access.ts'
import type { DeployConfig, DeployConfigOverlay } from './deploy-config.ts'
import { checkFrontPort, isLoginFront, podForIssuer, resolveIssuer } from './dev-issuer.ts'
import { type DevUser, readDevUsers } from './dev-users.ts'
import type { Environment } from './environment.ts'
import { type EnvironmentKeys, generateEnvironmentKeys, generateKeyPair } from './keys.ts'
import { UsageError } from './errors.ts'
import { type NadirAccess, type NadirFiles, readNadirAccess } from './nadir.ts'
import { nadirServerPodName, type SecretKey } from './names.ts'
import { runsStandInServer, splitForStandIn } from './nadir-server.ts'
import { environmentSettings, nodePods } from './nodes.ts'
import type { RepoPaths } from './paths.ts'
import { registerSecret } from './redact.ts'
import { builtImages, type ContainerImages, type HostPorts, type ManifestInput } from './render.ts'
import {
  type Doc,
  keysWanted,
  type PodDoc,
  readEnvironmentPod,
  rootOnlyPortsBelow,
  type TemplateUse,
  templateUse,
  usesExternalSlurm,
} from './template.ts'

export interface RenderSettings {
  /** Host port of the hub instead of the environment's own. */
  hostPort?: number
  /** Deploy settings laid over config/<env>/deploy-config.yaml. */
  deployConfig?: DeployConfigOverlay
  tag: string
  registry: string
  /** For an environment whose Slurm is elsewhere. */
  clusterFiles: ClusterFiles
  /** For an environment reached through a Nadir tunnel: the client's key and the server's address. */
  nadirFiles?: NadirFiles
}

/**
 * `up` needs every file the pod uses. `manifest` renders without some: with
 * dev_users.example when there is no dev_users, and without the cluster's
 * Secrets when the operator's files are not given (a pipeline makes them).
 */
export type Purpose = 'up' | 'manifest'

/** What a manifest of the environment is rendered from, worked out before anything is made. */
export interface RenderPlan {
  env: Environment
  pod: Doc
  use: TemplateUse
  ports: HostPorts
  images: ContainerImages
  users?: DevUser[]
  deployConfig: DeployConfig
  cluster?: ClusterAccess
  /** The Nadir tunnel's key and server address, where the pod runs its client (the operator's files). */
  nadir?: NadirAccess
  /** dev_realauth_nadir's stand-in Nadir server: its pod, beside `pod` (lib/nadir-server.ts). */
  server?: Doc
  /** Slurm's compute nodes, a pod each, beside `pod` (lib/nodes.ts); none with slurmNodes 0. */
  nodes: Doc[]
  omitSecrets: SecretKey[]
  /** What the plan left out or stood in for (manifest only), to tell the user. */
  notes: string[]
}

/** What a run makes for the manifest: fresh keys, the dummy login's password, the MUNGE key and the proxy's token. */
export interface MadeSecrets {
  keys: Partial<EnvironmentKeys>
  devLoginPassword?: string
  mungeKey?: string
  proxyAuthToken?: string
  /** For the stand-in Nadir server: the client's key pair made for the run, and the server's pod name. */
  nadir?: NadirAccess
}

function devUsersFor(env: Environment, repo: RepoPaths, purpose: Purpose, notes: string[]): DevUser[] {
  const file = env.devUsersFile
  if (purpose === 'up' || existsSync(file) || !existsSync(`${file}.example`)) return readDevUsers(file, repo)
  const shown = path.relative(repo.root, file)
  notes.push(`${shown} not found; rendering with ${shown}.example`)
  return readDevUsers(`${file}.example`, repo)
}

/**
 * `manifest` without any of the operator's files for some Secrets leaves
 * those Secrets out and says so (a pipeline makes them where it deploys);
 * undefined when the files are to be read (`up`, or one of them given).
 */
function leftOutSecrets(
  purpose: Purpose,
  given: Array<string | undefined>,
  secrets: Array<[SecretKey, string, string]>,
  options: string,
  notes: string[],
): SecretKey[] | undefined {
  if (purpose !== 'manifest' || given.some(Boolean)) return undefined
  const named = secrets.map(([, name, files]) => `${name} (${files})`).join(' and ')
  notes.push(`without ${options} the Secrets ${named} are left out; create them where the manifest is deployed`)
  return secrets.map(([key]) => key)
}

async function clusterFor(env: Environment, files: ClusterFiles, purpose: Purpose, notes: string[]) {
  const { clientKey, knownHosts } = env.names.secrets
  const omitSecrets = leftOutSecrets(
    purpose,
    [files.clientKey, files.knownHosts],
    [
      ['clientKey', clientKey, 'ssh_key, ssh_key.pub'],
      ['knownHosts', knownHosts, 'ssh_known_hosts'],
    ],
    '--ssh-client-key and --ssh-known-hosts',
    notes,
  )
  return omitSecrets ? { omitSecrets } : { cluster: await readClusterAccess(env.name, files), omitSecrets: [] }
}

async function nadirFor(env: Environment, files: NadirFiles, purpose: Purpose, notes: string[]) {
  const { nadirKey, nadirConfig } = env.names.secrets
  const omitSecrets = leftOutSecrets(
    purpose,
    [files.sshKey, files.serverAddress],
    [
      ['nadirKey', nadirKey, 'ssh_key, ssh_key.pub'],
      ['nadirConfig', nadirConfig, 'server_address'],
    ],
    '--nadir-ssh-key and --nadir-server-address',
    notes,
  )
  return omitSecrets ? { omitSecrets } : { nadir: await readNadirAccess(env.name, files), omitSecrets: [] }
}

/**
 * The login front listens inside the pod on the environment's port, where
 * users' jobs run too: that port must be one only root may listen on.
 */
function checkFrontKeptFromJobs(pod: Doc, port: number): void {
  const line = rootOnlyPortsBelow(pod)
  const front = ((pod as PodDoc).spec?.containers ?? []).some(isLoginFront)
  if (front && line !== undefined && port >= line)
    throw new UsageError(
      `port ${port} is open to users' jobs inside the pod (only ports below ${line} are kept for root); the login front needs a port below ${line} (--port)`,
    )
}

export async function planRender(
  env: Environment,
  settings: RenderSettings,
  repo: RepoPaths,
  purpose: Purpose,
): Promise<RenderPlan> {
  const settingsOfEnv = await environmentSettings(env, settings.deployConfig)
  // The deploy settings decide whether the pod runs dev_realauth's development issuer and login front.
  const pod = podForIssuer(await readEnvironmentPod(env), settingsOfEnv, env.name)
  const ports = { proxy: settings.hostPort ?? env.hostPort, hubApi: env.hubApiHostPort }
  checkFrontPort(pod, ports.proxy)
  checkFrontKeptFromJobs(pod, ports.proxy)
  const deployConfig = resolveIssuer(settingsOfEnv, ports.proxy)
  const standIn = runsStandInServer(pod) ? splitForStandIn(pod, env.names) : undefined
  const use = templateUse(standIn ? bothPods(standIn.hub, standIn.server) : pod)
  const notes: string[] = []
  const users = use.configMaps.includes('devUsers') ? devUsersFor(env, repo, purpose, notes) : undefined
  const external = usesExternalSlurm(use)
  const { cluster, omitSecrets } = external
    ? await clusterFor(env, settings.clusterFiles, purpose, notes)
    : { cluster: undefined, omitSecrets: [] }
  const tunnel = use.secrets.includes('nadirKey') || use.secrets.includes('nadirConfig')
  if (standIn) refuseNadirFiles(env, settings.nadirFiles ?? {})
  const { nadir, omitSecrets: nadirOmitted } =
    tunnel && !standIn
      ? await nadirFor(env, settings.nadirFiles ?? {}, purpose, notes)
      : { nadir: undefined, omitSecrets: [] }
  return {
    env,
    pod: standIn?.hub ?? pod,
    server: standIn?.server,
    nodes: nodePods(pod, env.names, deployConfig),
    use,
    ports,
    images: builtImages(settings.tag, settings.registry),
    users,
    deployConfig,
    cluster,
    nadir,
    omitSecrets: [...omitSecrets, ...nadirOmitted],
    notes,
  }
}

/** Both pods' containers and volumes, as one pod: what the two use together. */
const bothPods = (hub: Doc, server: Doc): Doc => {
  const [a, b] = [hub, server].map((p) => (p as PodDoc).spec ?? {})
  return {
    kind: 'Pod',
    spec: {
      containers: [...(a?.containers ?? []), ...(b?.containers ?? [])],
      volumes: [...(a?.volumes ?? []), ...(b?.volumes ?? [])],
    },
  }
}

/** With the stand-in server the launcher makes the tunnel's key and knows the server: the operator's files have no place. */
function refuseNadirFiles(env: Environment, files: NadirFiles): void {
  if (files.sshKey || files.serverAddress)
    throw new UsageError(
      `${env.name} brings up its own stand-in Nadir server and makes the tunnel's key itself: --nadir-ssh-key and --nadir-server-address are for a real Nadir server (prod); see docs/nadir.md`,
    )
}

export function newDevLoginPassword(): string {
  const password = crypto.randomBytes(18).toString('base64url')
  registerSecret(password)
  return password
}

/**
 * A MUNGE key of the environment's own: 1,024 random bytes (what mungekey
 * makes), as base64 text so that the Secret carries it as a string. munged
 * reads the file's bytes as they are; all Slurm daemons of the environment
 * share it, and no other environment or image has it.
 */
export function newMungeKey(): string {
  const key = crypto.randomBytes(1024).toString('base64')
  registerSecret(key)
  return key
}

/**
 * The token of the proxy's API, shared by the hub and the proxy where the
 * proxy runs in a container of its own (CONFIGPROXY_AUTH_TOKEN): whoever
 * holds it can route any path of the hub anywhere.
 */
export function newProxyAuthToken(): string {
  const token = crypto.randomBytes(32).toString('hex')
  registerSecret(token)
  return token
}

/** Generates what the plan's pod needs: its key pairs (in `dir`), the dummy login's password, the MUNGE key and the proxy's token. */
export async function makeSecrets(plan: RenderPlan, dir: string, keep: boolean): Promise<MadeSecrets> {
  const keys = await generateEnvironmentKeys(dir, keep, keysWanted(plan.use))
  const uses = (key: SecretKey) => plan.use.secrets.includes(key)
  return {
    keys,
    devLoginPassword: uses('devLogin') ? newDevLoginPassword() : undefined,
    mungeKey: uses('munge') ? newMungeKey() : undefined,
    proxyAuthToken: uses('proxyToken') ? newProxyAuthToken() : undefined,
    nadir: plan.server
      ? {
          key: await generateKeyPair(dir, 'nadir_client_key', 'stand-in Nadir tunnel client', keep),
          serverAddress: nadirServerPodName(plan.env.names),
        }
      : undefined,
  }
}

/** The input of renderManifest: the plan with what the run made. */
export function manifestInput(plan: RenderPlan, made: MadeSecrets): ManifestInput {
  return {
    names: plan.env.names,
    ports: plan.ports,
    images: plan.images,
    users: plan.users,
    deployConfig: plan.deployConfig,
    keys: made.keys,
    cluster: plan.cluster,
    nadir: plan.nadir ?? made.nadir,
    server: plan.server,
    nodes: plan.nodes,
    devLoginPassword: made.devLoginPassword,
    mungeKey: made.mungeKey,
    proxyAuthToken: made.proxyAuthToken,
    omitSecrets: plan.omitSecrets,
    pod: plan.pod,
  }
}
