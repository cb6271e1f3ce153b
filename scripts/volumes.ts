// `jh-slurm-pod volumes <env>`: create and fill the volumes the environment's pod claims.
import { defineCommand } from './lib/command.ts'
import { resolveEnvironment } from './lib/environment.ts'
import { COMMANDS } from './lib/options.ts'
import { volumeOwners } from './lib/owners.ts'
import { UserError } from './lib/errors.ts'
import { listImages } from './lib/images.ts'
import { defaultTag, type ImageKey, imageRef } from './lib/names.ts'
import { probePodman } from './lib/podman.ts'
import { readEnvironmentPod, templateUse } from './lib/template.ts'
import { createVolume, volumeFill, volumeSpecs } from './lib/volumes.ts'

/** A remote podman fills volumes through a container: of the environment's first image, which must be here. */
async function imageForFill(images: ImageKey[], target: string): Promise<string> {
  const ref = imageRef(images[0] ?? 'jupyterhub', defaultTag(target), 'localhost')
  if ((await listImages([ref])).length === 0)
    throw new UserError(
      `the remote podman cannot import volumes; they are filled through a container of ${ref}, which is not there: build it first (jh-slurm-pod build-images)`,
    )
  return ref
}

export const command = defineCommand(COMMANDS.volumes, async ({ positionals }, repo) => {
  const env = resolveEnvironment(positionals[0], repo)
  const use = templateUse(await readEnvironmentPod(env))
  const specs = volumeSpecs(env, volumeOwners(), use.volumes)
  const { remote } = await probePodman()
  const fill = volumeFill(remote, remote ? await imageForFill(use.images, env.target) : undefined)
  for (const spec of specs) {
    await createVolume(spec, fill, (line) => process.stderr.write(`  ${line}\n`))
    console.log(`created volume ${spec.name}`)
  }
})
