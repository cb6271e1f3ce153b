// Image builds: the hub, Slurm and Nadir client images (by default at
// stage-dev, tagged localhost/<image>:dev-latest). The same code serves `up`, `build-images`
// and production pipelines (--target stage-prod, --registry, --tag).
import { createHash, type Hash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { type BuildArgs, mergeBuildArgs, parseAssignment, readArgsFile } from './build-args.ts'
import { parseCommandLine, type Values } from './cli.ts'
import { UsageError } from './errors.ts'
import { defaultTag, DEV_TARGET, IMAGE_KEYS, IMAGES, type ImageKey, imageRef, TARGETS } from './names.ts'
import { buildOptions } from './options.ts'
import type { RepoPaths } from './paths.ts'
import { podman } from './podman.ts'
import { generatedInContext } from './version-file.ts'

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

export function buildSettings(
  values: Values<typeof buildOptions>,
  images: ImageKey[] = IMAGE_KEYS,
  defaultTarget: string = DEV_TARGET,
): BuildSettings {
  const target = values.target ?? defaultTarget
  if (!(TARGETS as readonly string[]).includes(target)) {
    throw new UsageError(`unknown target "${target}" (one of ${TARGETS.join(', ')})`)
  }
  const tag = values.tag ?? defaultTag(target)
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new UsageError(`invalid image tag "${tag}"`)
  const registry = values.registry
  if (!/^[a-z0-9][a-z0-9._:/-]*$/i.test(registry)) throw new UsageError(`invalid registry prefix "${registry}"`)
  const file = (v: string | undefined) => (v ? [path.resolve(v)] : [])
  const caBundle = values['ca-bundle'] ? path.resolve(values['ca-bundle']) : undefined
  if (caBundle) {
    try {
      fs.accessSync(caBundle, fs.constants.R_OK)
    } catch {
      throw new UsageError(
        `CA bundle ${caBundle} (--ca-bundle or JH_SLURM_BUILD_CA_BUNDLE) is not a readable file; give a PEM file`,
      )
    }
  }
  const stageJobs = Number(values['stage-jobs'])
  if (!Number.isInteger(stageJobs) || stageJobs < 1 || stageJobs > 64) {
    throw new UsageError(`invalid --stage-jobs "${values['stage-jobs']}" (a whole number from 1 to 64)`)
  }
  return {
    images,
    target,
    tag,
    registry,
    argsFiles: {
      jupyterhub: file(values['hub-args-file']),
      slurm: file(values['slurm-args-file']),
      'nadir-client': file(values['nadir-args-file']),
    },
    buildArgs: {
      jupyterhub: values['hub-build-arg'],
      slurm: values['slurm-build-arg'],
      'nadir-client': values['nadir-build-arg'],
    },
    caBundle,
    stageJobs,
  }
}

/**
 * The build options as the variables alone give them (JH_SLURM_HUB_ARGS_FILE,
 * JH_SLURM_BUILD_CA_BUNDLE, ...), the defaults for the rest: what a command
 * without build options builds with. The one reader of build settings from
 * the environment.
 */
export const buildValuesFromVariables = (vars: NodeJS.ProcessEnv = process.env): Values<typeof buildOptions> =>
  parseCommandLine({ command: 'build-images', summary: '', options: buildOptions }, [], vars).values

/** Build settings from the variables alone, for commands without build options; `defaultTarget`: the environment's stage. */
export const buildSettingsFromVariables = (
  vars: NodeJS.ProcessEnv = process.env,
  images?: ImageKey[],
  defaultTarget?: string,
): BuildSettings => buildSettings(buildValuesFromVariables(vars), images, defaultTarget)

/** Resolves one image's build: its context, reference and final build arguments. */
export function planImageBuild(image: ImageKey, settings: BuildSettings, repo: RepoPaths): ImageBuild {
  const contextDir = path.join(repo.root, IMAGES[image])
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

/**
 * The build line as run: a remote podman service gets no --jobs (stages built
 * at once have crashed podman 5.4's service). The image is the same, and so
 * is the inputs digest, which is taken from podmanBuildArgs.
 */
export function buildCommand(build: ImageBuild, remote: boolean, inputs?: string): string[] {
  const args = podmanBuildArgs(build, inputs)
  if (remote) args.splice(args.indexOf('--jobs'), 2)
  return args
}

export interface BuildRun {
  /** The podman is a remote client (see buildCommand). */
  remote: boolean
  onLine?: (line: string) => void
  /** The digest of the inputs (imageInputs), recorded on the image. */
  inputs?: string
}

/** podman build. */
export async function buildImage(build: ImageBuild, { remote, onLine, inputs }: BuildRun): Promise<string> {
  await podman(buildCommand(build, remote, inputs), { onLine })
  return build.ref
}

/** Builds images side by side, or one after another for a remote podman service (see buildCommand). */
export async function buildImages(
  builds: ImageBuild[],
  remote: boolean,
  onLine: (build: ImageBuild, line: string) => void,
): Promise<string[]> {
  const one = (build: ImageBuild) => buildImage(build, { remote, onLine: (line) => onLine(build, line) })
  if (!remote) return Promise.all(builds.map(one))
  const refs: string[] = []
  for (const build of builds) refs.push(await one(build))
  return refs
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
  hashTree(hash, build.contextDir, undefined, generatedInContext(build.contextDir))
  return hash.digest('hex')
}

/**
 * Feeds `hash` every entry under `root` in name order: its path, mode and
 * content (a link's target); names matching `skip`, and the paths (relative
 * to `root`) in `leaveOut`, are left out.
 */
export function hashTree(hash: Hash, root: string, skip?: RegExp, leaveOut: Set<string> = new Set()): void {
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      if (skip?.test(name)) continue
      const file = path.join(dir, name)
      if (leaveOut.has(path.relative(root, file))) continue
      const stat = fs.lstatSync(file)
      hash.update(`\0${path.relative(root, file)}\0${stat.mode}\0`)
      if (stat.isDirectory()) walk(file)
      else if (stat.isSymbolicLink()) hash.update(fs.readlinkSync(file))
      else if (stat.isFile()) hash.update(fs.readFileSync(file))
    }
  }
  walk(root)
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
