// `jh-slurm-pod build-images`: build the hub, Slurm and Nadir client images (see lib/images.ts).
import { defineCommand } from './lib/command.ts'
import { UsageError } from './lib/errors.ts'
import { buildImages, buildSettings, planImageBuild } from './lib/images.ts'
import { IMAGE_KEYS, IMAGES, type ImageKey } from './lib/names.ts'
import { COMMANDS } from './lib/options.ts'
import { probePodman } from './lib/podman.ts'

const isImage = (name: string): name is ImageKey => name in IMAGES

export const command = defineCommand(COMMANDS['build-images'], async ({ values }, repo) => {
  const images = values.image.length ? values.image : IMAGE_KEYS
  const unknown = images.find((image) => !isImage(image))
  if (unknown !== undefined) throw new UsageError(`unknown image "${unknown}" (${IMAGE_KEYS.join(', ')})`)
  const settings = buildSettings(values, images.filter(isImage))
  const builds = settings.images.map((image) => planImageBuild(image, settings, repo))
  const { remote } = await probePodman()
  const refs = await buildImages(builds, remote, (build, line) => process.stderr.write(`[${build.image}] ${line}\n`))
  for (const ref of refs) console.log(`built ${ref}`)
})
