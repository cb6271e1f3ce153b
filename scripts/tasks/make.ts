// Builds, volumes, keys and manifest: none of these depends on another, so
// they run side by side.
import path from 'node:path'
import type { ListrTask } from 'listr2'
import { baseImageOf, buildImage, imageInputs, type ListedImage, listImages } from '../lib/images.ts'
import { makeSecrets, manifestInput } from '../lib/manifest-input.ts'
import type { RepoPaths } from '../lib/paths.ts'
import { renderManifest } from '../lib/render.ts'
import { writeSecretFile } from '../lib/secret-file.ts'
import type { UpPlan } from '../lib/up-plan.ts'
import { createVolume, type VolumeFill, volumeFill } from '../lib/volumes.ts'
import { produced, stopIfInterrupted, type Task, type UpContext } from './context.ts'

/**
 * Each image's build, skipped when the image was built from the same inputs
 * (see INPUTS_LABEL); an interrupt before it starts stops it.
 */
function buildTasks(plan: UpPlan, listed: ListedImage[], remote: boolean): ListrTask<UpContext>[] {
  return plan.builds.map((build) => {
    const { current, inputs } = imageInputs(build, listed)
    return {
      title: `Build ${build.ref}`,
      rendererOptions: { outputBar: 3 },
      skip: () => current && `${build.ref}: up to date (same base image, build arguments and files)`,
      task: async (ctx: UpContext, task: Task) => {
        stopIfInterrupted(ctx)
        await buildImage(build, { remote, onLine: (line) => (task.output = line), inputs })
      },
    }
  })
}

function volumeTasks(plan: UpPlan, fill: VolumeFill): ListrTask<UpContext>[] {
  return plan.volumes.map((spec) => ({
    title: `Create and fill ${spec.name}`,
    // The checks found none of the environment's volumes.
    task: (_ctx: UpContext, task: Task) => createVolume(spec, fill, (line) => (task.output = line), false),
  }))
}

function manifestTask(plan: UpPlan, repo: RepoPaths): ListrTask<UpContext> {
  return {
    title: 'Generate SSH keys, render manifest',
    task: async (ctx: UpContext, task: Task) => {
      const buildDir = produced(ctx.buildDir, 'the build directory')
      ctx.secrets = await makeSecrets(plan, buildDir, plan.options.keepBuildData)
      const file = path.join(buildDir, `jh_slurm_pod_${plan.env.name}.yaml`)
      await writeSecretFile(file, renderManifest(manifestInput(plan, ctx.secrets)))
      ctx.manifestFile = file
      task.title = `Generate SSH keys, render manifest ${path.relative(repo.root, file)}`
    },
  }
}

/** The images of the run and their base images, looked at in one podman call. */
export const listRunImages = (plan: UpPlan): Promise<ListedImage[]> =>
  listImages(plan.builds.flatMap((build) => [build.ref, baseImageOf(build) ?? []].flat()))

/**
 * Builds, volumes and manifest, side by side. A remote podman service gets
 * one build at a time (two at once have crashed it) and its volumes after
 * the builds, filled through a container of the first image built.
 */
export function makeTasks(
  plan: UpPlan,
  repo: RepoPaths,
  listed: ListedImage[],
  remote: boolean,
): ListrTask<UpContext>[] {
  const fill = volumeFill(remote, plan.builds[0]?.ref)
  if (!remote) return [...buildTasks(plan, listed, remote), ...volumeTasks(plan, fill), manifestTask(plan, repo)]
  const inTurn: ListrTask<UpContext> = {
    title: 'Build images, then create and fill volumes (remote podman: one at a time)',
    task: (_ctx, task: Task) =>
      task.newListr([...buildTasks(plan, listed, remote), ...volumeTasks(plan, fill)], {
        concurrent: false,
        exitOnError: true,
      }),
  }
  return [inTurn, manifestTask(plan, repo)]
}
