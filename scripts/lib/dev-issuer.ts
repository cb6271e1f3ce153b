// dev_realauth's development issuer and login front (brics_jupyterhub/dev-login,
// docs/realauth.md): a pod template may carry them as the containers
// `dev-issuer` and `login-front`. The deploy setting `oidcServer: dev-issuer`
// selects them; any other oidcServer is an outside issuer, and then the pod
// runs without them, exactly as a pod that never had them.
import { POD_PORTS } from './pod-facts.ts'
import type { DeployConfig } from './deploy-config.ts'
import { parseDevUsers } from './dev-users.ts'
import { UsageError, UserError } from './errors.ts'
import { containerName, HUB_HOST, type ResourceNames } from './names.ts'
import { podmanSucceeds } from './podman.ts'

/** The oidcServer value that names the pod's own issuer; also the container's name. */
export const DEV_ISSUER = 'dev-issuer'
export const LOGIN_FRONT = 'login-front'
/** The pod's containers of the development issuer and the login front. */
export const DEV_LOGIN_CONTAINERS = [DEV_ISSUER, LOGIN_FRONT]
/** Ports inside the pod that the front cannot take: the hub's proxy and its API, the hub API, the issuer. */
const TAKEN_IN_POD: number[] = Object.values(POD_PORTS)

/** Seconds an ID token and a login last when the deploy settings do not say (the pod always gets them from here). */
export const DEV_ISSUER_LIFETIMES = { token: '300', session: '28800' } as const
const HUB_PROXY_PORT = POD_PORTS.proxy

type Doc = Record<string, unknown>
interface Port {
  containerPort: number
  hostPort?: number
  hostIP?: string
}
interface Container {
  name: string
  command?: string[]
  ports?: Port[]
  volumeMounts?: Array<{ name: string }>
}
type PodDoc = Doc & { spec: { containers: Container[]; volumes?: Array<{ name: string }> } }

export const usesDevIssuer = (config: DeployConfig): boolean => config.get('oidcServer') === DEV_ISSUER

/** The issuer's URL for the browser and, inside the pod, for the hub: the front serves it on the published port. */
export const devIssuerUrl = (port: number): string => `http://${HUB_HOST}:${port}/oidc`

const hasLoginFront = (pod: PodDoc): boolean => pod.spec.containers.some((c) => c.name === LOGIN_FRONT)

/** Whether a pod (as it runs, after podForIssuer) has the development issuer. */
export const runsDevIssuer = (pod: Doc): boolean => (pod as PodDoc).spec.containers.some((c) => c.name === DEV_ISSUER)

function checkSettings(config: DeployConfig, source: string): void {
  const token = config.get('devIssuerTokenLifetime') ?? DEV_ISSUER_LIFETIMES.token
  const session = config.get('devIssuerSessionLifetime') ?? DEV_ISSUER_LIFETIMES.session
  for (const [key, value] of [
    ['devIssuerTokenLifetime', token],
    ['devIssuerSessionLifetime', session],
  ]) {
    if (!/^[1-9][0-9]*$/.test(value as string))
      throw new UsageError(`${source}: ${key} must be a whole number of seconds, got "${value}"`)
  }
  if (Number(session) < Number(token))
    throw new UsageError(`${source}: devIssuerSessionLifetime must not be shorter than devIssuerTokenLifetime`)
  const others = config.get('devIssuerOtherProjects')?.trim()
  try {
    if (others) parseDevUsers(others.split(/\s+/).join('\n'), `${source}: devIssuerOtherProjects`)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

/**
 * The pod as it runs with these deploy settings: with the development issuer,
 * the front alone is published (the hub's proxy only through it); with an
 * outside issuer, neither part is there. A pod without them is returned as
 * it is, and must not be asked for them.
 */
export function podForIssuer(template: Doc, config: DeployConfig, envName: string): Doc {
  const pod = structuredClone(template) as PodDoc
  const local = usesDevIssuer(config)
  if (!hasLoginFront(pod)) {
    if (local)
      throw new UserError(
        `${envName}: oidcServer is ${DEV_ISSUER}, but its pod has no development issuer (dev_realauth's has); name an issuer URL`,
      )
    return pod
  }
  if (!local) {
    pod.spec.containers = pod.spec.containers.filter((c) => !DEV_LOGIN_CONTAINERS.includes(c.name))
    // What only they mounted (the login password) is not made either.
    const mounted = new Set(pod.spec.containers.flatMap((c) => (c.volumeMounts ?? []).map((m) => m.name)))
    pod.spec.volumes = pod.spec.volumes?.filter((v) => mounted.has(v.name))
    return pod
  }
  checkSettings(config, `deploy settings of ${envName}`)
  for (const container of pod.spec.containers) {
    if (DEV_LOGIN_CONTAINERS.includes(container.name)) continue
    for (const port of container.ports ?? []) {
      if (port.containerPort !== HUB_PROXY_PORT) continue
      delete port.hostPort
      delete port.hostIP
    }
  }
  return pod
}

/** The login front listens on the published port inside the pod too: it must not be one the pod uses. */
export function checkFrontPort(pod: Doc, port: number): void {
  if (hasLoginFront(pod as PodDoc) && TAKEN_IN_POD.includes(port))
    throw new UsageError(
      `port ${port} is used inside the pod (${TAKEN_IN_POD.join(', ')}); the login front needs another (--port)`,
    )
}

/** Whether a container is the login front, whose port is the published one inside the pod too. */
export const isLoginFront = (container: { name: string }): boolean => container.name === LOGIN_FRONT

/** Deploy settings as the pod gets them: the development issuer's URL in place of its name. */
export function resolveIssuer(config: DeployConfig, port: number): DeployConfig {
  return usesDevIssuer(config) ? new Map(config).set('oidcServer', devIssuerUrl(port)) : config
}

/** The containers of the development issuer and the front in a pod as it runs, with their commands. */
export const devLoginContainers = (pod: Doc): Array<{ name: string; command?: string[] }> =>
  (pod as PodDoc).spec.containers.filter((c) => DEV_LOGIN_CONTAINERS.includes(c.name))

/**
 * `apply` replaces containers, it does not add or remove them: going from
 * the development issuer to an outside one (or back) changes the pod's
 * containers and its published port, which takes a down and an up.
 */
export async function checkSameIssuerKind(names: ResourceNames, pod: Doc): Promise<void> {
  const running = await podmanSucceeds(['container', 'exists', containerName(names, DEV_ISSUER)])
  if (running === runsDevIssuer(pod)) return
  const now = runsDevIssuer(pod) ? `is ${DEV_ISSUER}` : 'names an outside issuer'
  throw new UsageError(
    `${names.env}: oidcServer now ${now}, which changes the pod's containers and port; apply cannot do that: jh-slurm-pod down ${names.env}, then up`,
  )
}
