// Step: build the hub and Slurm images (by default at stage-dev, tagged
// localhost/<image>:dev-latest). The same code serves `up` and production
// pipelines (--target stage-prod, --registry, --tag).
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { parseCommandLine, type Values } from './lib/cli.ts'
import { UsageError, UserError } from './lib/errors.ts'
import { runStep } from './lib/main.ts'
import { type BuildArgs, mergeBuildArgs, parseAssignment, readArgsFile } from './lib/build-args.ts'
import { defaultTag, DEV_TARGET, IMAGES, type ImageKey, imageRef, TARGETS } from './lib/names.ts'
import { repoRoot } from './lib/paths.ts'
import { checkPodman, podman } from './lib/podman.ts'

/** Where a CA bundle given with --ca-bundle appears inside RUN steps. */
export const CA_BUNDLE_MOUNT = '/run/build-ca/ca.crt'

export interface ImageBuild {
  image: ImageKey
  ref: string
  contextDir: string
  target: string
  args: BuildArgs
  caBundle?: string
  /** Stages of this image built at once (podman build --jobs). */
  stageJobs: number
}

export interface BuildSettings {
  images: ImageKey[]
  target: string
  tag: string
  registry: string
  argsFiles: Record<ImageKey, string[]>
  buildArgs: Record<ImageKey, string[]>
  caBundle?: string
  stageJobs: number
}

/** Stages of one image built at once unless told otherwise: the Containerfiles have two independent chains. */
export const DEFAULT_STAGE_JOBS = 2

export const buildOptions = {
  target: { type: 'string', value: 'STAGE', description: `build stage: ${TARGETS.join(', ')} (default ${DEV_TARGET})` },
  tag: { type: 'string', value: 'TAG', description: "image tag (default: the stage's, dev-latest or prod-latest)" },
  registry: {
    type: 'string',
    value: 'PREFIX',
    description: 'image name prefix, e.g. registry.example.org/brics (default localhost)',
  },
  'hub-args-file': {
    type: 'string',
    value: 'FILE',
    env: 'JH_SLURM_HUB_ARGS_FILE',
    description: 'KEY=VALUE file laid over brics_jupyterhub/build.args',
  },
  'slurm-args-file': {
    type: 'string',
    value: 'FILE',
    env: 'JH_SLURM_SLURM_ARGS_FILE',
    description: 'KEY=VALUE file laid over brics_slurm/build.args',
  },
  'hub-build-arg': { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'one hub build argument' },
  'slurm-build-arg': { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'one Slurm build argument' },
  'ca-bundle': {
    type: 'string',
    value: 'PATH',
    env: 'JH_SLURM_BUILD_CA_BUNDLE',
    description: 'extra CA certificates (PEM) trusted by pip/npm/curl/git during builds, for TLS-intercepting proxies',
  },
  'stage-jobs': {
    type: 'string',
    value: 'N',
    env: 'JH_SLURM_STAGE_JOBS',
    description: `stages of one image that podman builds at once (podman build --jobs; default ${DEFAULT_STAGE_JOBS}, 1 = one after another)`,
  },
} as const

export function buildSettings(
  values: Values<typeof buildOptions>,
  images: ImageKey[] = ['jupyterhub', 'slurm'],
  defaultTarget: string = DEV_TARGET,
): BuildSettings {
  const target = values.target ?? defaultTarget
  if (!(TARGETS as readonly string[]).includes(target)) {
    throw new UsageError(`unknown target "${target}" (one of ${TARGETS.join(', ')})`)
  }
  const tag = values.tag ?? defaultTag(target)
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new UsageError(`invalid image tag "${tag}"`)
  const registry = values.registry ?? 'localhost'
  if (!/^[a-z0-9][a-z0-9._:/-]*$/i.test(registry)) throw new UsageError(`invalid registry prefix "${registry}"`)
  const file = (v: string | undefined) => (v ? [path.resolve(v)] : [])
  const caBundle = values['ca-bundle'] ? path.resolve(values['ca-bundle']) : undefined
  if (caBundle) {
    try {
      fs.accessSync(caBundle, fs.constants.R_OK)
    } catch {
      throw new UserError(`CA bundle ${caBundle} is not a readable file`)
    }
  }
  const stageJobs = values['stage-jobs'] === undefined ? DEFAULT_STAGE_JOBS : Number(values['stage-jobs'])
  if (!Number.isInteger(stageJobs) || stageJobs < 1 || stageJobs > 64) {
    throw new UsageError(`invalid --stage-jobs "${values['stage-jobs']}" (a whole number from 1 to 64)`)
  }
  return {
    images,
    target,
    tag,
    registry,
    argsFiles: { jupyterhub: file(values['hub-args-file']), slurm: file(values['slurm-args-file']) },
    buildArgs: { jupyterhub: values['hub-build-arg'], slurm: values['slurm-build-arg'] },
    caBundle,
    stageJobs,
  }
}

/** Build settings from the environment alone (args files, CA bundle), for steps without build options. */
export const envBuildSettings = (env: NodeJS.ProcessEnv = process.env): BuildSettings =>
  buildSettings(parseCommandLine({ command: 'build-images', summary: '', options: buildOptions }, [], env).values)

/** Resolves one image's build: its context, reference and final build arguments. */
export function planImageBuild(image: ImageKey, settings: BuildSettings, root: string = repoRoot): ImageBuild {
  const contextDir = path.join(root, IMAGES[image])
  const defaults = readArgsFile(path.join(contextDir, 'build.args'))
  const overlays = [
    ...settings.argsFiles[image].map(readArgsFile),
    new Map(settings.buildArgs[image].map((a) => parseAssignment(a, `${image} build argument`))),
  ]
  const args = mergeBuildArgs(defaults, overlays, IMAGES[image])
  if (settings.caBundle) args.set('BUILD_CA_BUNDLE', CA_BUNDLE_MOUNT)
  return {
    image,
    ref: imageRef(image, settings.tag, settings.registry),
    contextDir,
    target: settings.target,
    args,
    caBundle: settings.caBundle,
    stageJobs: settings.stageJobs,
  }
}

/** The podman build line; `inputs` (see buildInputsDigest) is recorded as the label INPUTS_LABEL. */
export function podmanBuildArgs(build: ImageBuild, inputs?: string): string[] {
  return [
    'build',
    '--file',
    path.join(build.contextDir, 'Containerfile'),
    '--target',
    build.target,
    '--tag',
    build.ref,
    '--jobs',
    String(build.stageJobs),
    ...[...build.args].flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]),
    ...(build.caBundle ? ['--volume', `${build.caBundle}:${CA_BUNDLE_MOUNT}:ro`] : []),
    ...(inputs ? ['--label', `${INPUTS_LABEL}=${inputs}`] : []),
    build.contextDir,
  ]
}

/** podman build; `inputs` (from imageInputs) is recorded on the image. */
export async function buildImage(build: ImageBuild, onLine?: (line: string) => void, inputs?: string): Promise<string> {
  await podman(podmanBuildArgs(build, inputs), { onLine })
  return build.ref
}

/**
 * Label of the images `up` builds: the digest of everything the build read.
 * An image that carries the digest of the present inputs is current, and `up`
 * skips its build: a cached podman build costs half a second of CPU per image.
 */
export const INPUTS_LABEL = 'jh-slurm-pod.build-inputs'

export interface ListedImage {
  Id: string
  Names?: string[] | null
  Labels?: Record<string, string> | null
}

/**
 * The local images among `refs`, with their names and labels: one podman call
 * (a tenth of a second, where listing every image can take most of a second).
 * Images that are not here are left out.
 */
export async function listImages(refs: string[]): Promise<ListedImage[]> {
  if (refs.length === 0) return []
  // Exit 125 when any of them is missing; the others are printed all the same.
  const { stdout } = await podman(
    ['image', 'inspect', '--format', '{{.Id}}\t{{json .RepoTags}}\t{{json .Labels}}', ...new Set(refs)],
    { nothrow: true },
  )
  return stdout.split('\n').flatMap((line) => {
    const [id, names, labels] = line.split('\t')
    if (!id || !names || !labels) return []
    return [
      {
        Id: id,
        Names: JSON.parse(names) as string[] | null,
        Labels: JSON.parse(labels) as Record<string, string> | null,
      },
    ]
  })
}

/**
 * sha256 of what decides a build's result: the podman build line (build
 * arguments, target, tag, CA bundle path), the ID of the base image, and the
 * name, mode and content of every file under the build context, .git
 * directories and files podman ignores included (they can only cause a build
 * that was not needed, never skip one that was).
 */
export function buildInputsDigest(build: ImageBuild, baseImageId: string): string {
  const hash = createHash('sha256')
  hash.update(JSON.stringify({ argv: podmanBuildArgs(build), base: baseImageId }))
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const file = path.join(dir, name)
      const stat = fs.lstatSync(file)
      hash.update(`\0${path.relative(build.contextDir, file)}\0${stat.mode}\0`)
      if (stat.isDirectory()) walk(file)
      else if (stat.isSymbolicLink()) hash.update(fs.readlinkSync(file))
      else if (stat.isFile()) hash.update(fs.readFileSync(file))
    }
  }
  walk(build.contextDir)
  return hash.digest('hex')
}

/** The image a build starts from: its BASE_IMAGE build argument (both Containerfiles take one). */
export const baseImageOf = (build: ImageBuild): string | undefined => build.args.get('BASE_IMAGE') || undefined

/**
 * Whether the image under `build.ref` was built from the present inputs, and
 * their digest to record on a new build. `listed` is what listImages found of
 * the images and their base images. A base image not here under its exact
 * name gives no digest: podman build resolves or pulls it.
 */
export function imageInputs(build: ImageBuild, listed: ListedImage[]): { current: boolean; inputs?: string } {
  const named = (ref: string | undefined) => (ref ? listed.find((image) => image.Names?.includes(ref)) : undefined)
  const base = named(baseImageOf(build))
  if (!base) return { current: false }
  const inputs = buildInputsDigest(build, base.Id)
  return { current: named(build.ref)?.Labels?.[INPUTS_LABEL] === inputs, inputs }
}

export const cli = {
  command: 'build-images',
  summary: 'Build the brics_jupyterhub and brics_slurm images, both at once.',
  options: {
    image: { type: 'string', multiple: true, value: 'NAME', description: 'only this image: jupyterhub or slurm' },
    ...buildOptions,
  },
  notes: 'Build arguments and their defaults are listed in brics_jupyterhub/build.args and brics_slurm/build.args.',
} as const

runStep('build-images', async () => {
  const { values } = parseCommandLine(cli)
  const images = values.image.length ? values.image : ['jupyterhub', 'slurm']
  for (const image of images)
    if (!(image in IMAGES)) throw new UsageError(`unknown image "${image}" (jupyterhub or slurm)`)
  const settings = buildSettings(values, images as ImageKey[])
  const builds = settings.images.map((image) => planImageBuild(image, settings))
  await checkPodman()
  const refs = await Promise.all(
    builds.map((build) => buildImage(build, (line) => process.stderr.write(`[${build.image}] ${line}\n`))),
  )
  for (const ref of refs) console.log(`built ${ref}`)
})
