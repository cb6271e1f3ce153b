// The pod template (jh_slurm_pod.yaml or config/<env>/pod.yaml) and what it
// uses of what the launcher makes: this decides what is built, made and
// rendered for an environment.
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import path from 'node:path'
import YAML from 'yaml'
import { UserError } from './errors.ts'
import { describeFileError } from './paths.ts'
import { POD_PORTS } from './pod-facts.ts'
import { patchPod } from './pod-patch.ts'
import {
  type ConfigMapKey,
  IMAGES,
  type ImageKey,
  imageRef,
  type SecretKey,
  TEMPLATE_NAMES,
  type VolumeKey,
} from './names.ts'

export type Doc = Record<string, unknown>

/** Ports inside the pod: the proxy, and the hub API (published only where jobs run elsewhere). */
export const HUB_CONTAINER_PORT: number = POD_PORTS.proxy
export const HUB_API_CONTAINER_PORT: number = POD_PORTS.hubApi

export interface PodSpec {
  containers?: Array<{
    name: string
    image?: string
    envFrom?: Array<{ configMapRef?: { name: string } }>
    ports?: Array<{ containerPort: number; hostPort?: number }>
  }>
  volumes?: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; secret?: { secretName: string } }>
}
export type PodDoc = Doc & { metadata?: { name?: string; labels?: Record<string, string> }; spec?: PodSpec }

/** What a template name stands for; a name the launcher does not make is an error. */
export function keyOf<K extends string>(kind: string, templateNames: Record<K, string>, name: string): K {
  const key = (Object.keys(templateNames) as K[]).find((k) => templateNames[k] === name)
  if (!key) {
    const known = Object.values(templateNames).join(', ')
    throw new UserError(
      `the pod template refers to ${kind} "${name}", which the launcher does not make (it makes: ${known})`,
    )
  }
  return key
}

export interface TemplateUse {
  volumes: VolumeKey[]
  secrets: SecretKey[]
  configMaps: ConfigMapKey[]
  images: ImageKey[]
  /** Whether it publishes the hub API (for jobs on another machine). */
  publishesHubApi: boolean
}

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)]

/** The image a container runs: the one it is named after, or the one its template image names (dev_realauth's dev-issuer and login-front). */
export const imageKeyOf = (container: { name: string; image?: string }): ImageKey | undefined =>
  container.name in IMAGES
    ? (container.name as ImageKey)
    : (Object.keys(IMAGES) as ImageKey[]).find((key) => container.image === imageRef(key))

export function templateUse(template: Doc): TemplateUse {
  const spec = ((template as PodDoc).spec ?? {}) as PodSpec
  const volumes = spec.volumes ?? []
  const containers = spec.containers ?? []
  return {
    volumes: uniq(
      volumes.flatMap((v) =>
        v.persistentVolumeClaim
          ? [keyOf('volume claim', TEMPLATE_NAMES.volumes, v.persistentVolumeClaim.claimName)]
          : [],
      ),
    ),
    secrets: uniq(
      volumes.flatMap((v) => (v.secret ? [keyOf('Secret', TEMPLATE_NAMES.secrets, v.secret.secretName)] : [])),
    ),
    configMaps: uniq(
      containers.flatMap((c) =>
        (c.envFrom ?? []).flatMap((e) =>
          e.configMapRef ? [keyOf('ConfigMap', TEMPLATE_NAMES.configMaps, e.configMapRef.name)] : [],
        ),
      ),
    ),
    images: uniq(containers.flatMap((c) => imageKeyOf(c) ?? [])),
    publishesHubApi: containers.some((c) =>
      (c.ports ?? []).some((p) => p.containerPort === HUB_API_CONTAINER_PORT && p.hostPort !== undefined),
    ),
  }
}

/** An environment whose Slurm is elsewhere: the pod takes the cluster's host key from a file. */
export const usesExternalSlurm = (use: TemplateUse): boolean => use.secrets.includes('knownHosts')

/** The key pairs the launcher generates for a pod: the client key only where Slurm is in the pod. */
export const keysWanted = (use: TemplateUse): { client: boolean; host: boolean } => ({
  client: use.secrets.includes('clientKey') && !usesExternalSlurm(use),
  host: use.secrets.includes('hostKey'),
})

/**
 * The first port any process may listen on in the pod (the pod's sysctl
 * net.ipv4.ip_unprivileged_port_start); below it only root may. Undefined
 * when the pod leaves the kernel's default.
 */
export function rootOnlyPortsBelow(pod: Doc): number | undefined {
  const { securityContext } = ((pod as PodDoc).spec ?? {}) as { securityContext?: { sysctls?: Sysctl[] } }
  const line = securityContext?.sysctls?.find((s) => s.name === UNPRIVILEGED_PORT_START)?.value
  return line === undefined ? undefined : Number(line)
}
const UNPRIVILEGED_PORT_START = 'net.ipv4.ip_unprivileged_port_start'
type Sysctl = { name: string; value: string }

async function readYaml(file: string, what: string): Promise<Doc> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (error) {
    throw new UserError(`cannot read ${what} ${file}: ${describeFileError(error)}`)
  }
  try {
    return (YAML.parse(text) ?? {}) as Doc
  } catch (error) {
    throw new UserError(`${file}: not valid YAML (${(error as Error).message.split('\n')[0]})`)
  }
}

export async function readPodTemplate(file: string): Promise<Doc> {
  const doc = await readYaml(file, 'the pod template')
  if (doc?.kind !== 'Pod') throw new UserError(`${file} does not hold a Pod document`)
  return doc
}

/** Where an environment's pod comes from: the base pod, and the environment's changes to it. */
export interface PodSource {
  podTemplate: string
  podPatch?: string
}

/** The environment's pod: the base pod with config/<env>/pod.yaml laid over it (lib/pod-patch.ts). */
export async function readEnvironmentPod(env: PodSource): Promise<Doc> {
  const base = await readPodTemplate(env.podTemplate)
  return env.podPatch ? layPatch(base, env.podPatch, []) : base
}

/**
 * Lays a pod file over `pod`; a file that says `extends: <env>` has that
 * environment's pod file laid first (dev's pod is dev_realauth's).
 */
async function layPatch(pod: Doc, file: string, seen: string[]): Promise<Doc> {
  if (seen.includes(file))
    throw new UserError(`${file}: extends goes round in a circle (${[...seen, file].join(' -> ')})`)
  const { extends: parent, ...patch } = await readYaml(file, "the environment's pod changes")
  if (parent === undefined) return patchPod(pod, patch, file)
  const parentFile = path.join(path.dirname(path.dirname(file)), String(parent), 'pod.yaml')
  if (typeof parent !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(parent) || !existsSync(parentFile))
    throw new UserError(`${file}: extends ${JSON.stringify(parent)}, which is no environment with a pod.yaml`)
  return patchPod(await layPatch(pod, parentFile, [...seen, file]), patch, file)
}
