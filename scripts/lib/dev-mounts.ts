// At stage-dev the development clones are mounted into the containers where
// the images' editable installs point (/srv/dev_data/<repo>), so an edit of a
// clone is live without an image build: the hub needs a restart to import it,
// the wrappers need nothing (they start anew on every call). The images still
// carry a copy of each clone; stage-prod carries releases and no mounts.
import fs from 'node:fs'
import path from 'node:path'
import type { ImageBuild } from './images.ts'
import { podman } from './podman.ts'
import type { DevRepo } from './sources.ts'
import { generatedVersionFile } from './version-file.ts'

/** Where the Containerfiles copy each clone and install it editable (stage-dev). */
export const DEV_DATA_DIR = '/srv/dev_data'

export const devDataPath = (repo: DevRepo): string => `${DEV_DATA_DIR}/${repo.name}`

interface MountedPod {
  spec?: {
    containers?: Array<{ name: string; volumeMounts?: Array<Record<string, unknown>> }>
    volumes?: Array<Record<string, unknown>>
  }
}

/** The volume name of a clone's mount in the pod (DNS-1123). */
const volumeName = (repo: DevRepo): string => `dev-${repo.name.replace(/_/g, '-')}`

/**
 * The pod template with each clone mounted, read-only, into the container of
 * its image (the containers are named after their images). The clone stays
 * the developer's: nothing in the container writes into it.
 */
export function withDevMounts<T>(template: T, repos: DevRepo[]): T {
  const pod = structuredClone(template) as T & MountedPod
  const containers = pod.spec?.containers ?? []
  for (const repo of repos) {
    const container = containers.find((c) => c.name === repo.image)
    if (!container || !pod.spec) continue
    pod.spec.volumes = [
      ...(pod.spec.volumes ?? []),
      { name: volumeName(repo), hostPath: { path: repo.dest, type: 'Directory' } },
    ]
    container.volumeMounts = [
      ...(container.volumeMounts ?? []),
      { name: volumeName(repo), mountPath: devDataPath(repo), readOnly: true },
    ]
  }
  return pod
}

/**
 * The editable install made a version file inside the image's copy of each
 * clone, and the package imports it; the mounted clone hides that copy. So
 * a clone that lacks it gets the image's (the file is git-ignored upstream).
 */
export async function seedVersionFiles(repos: DevRepo[], builds: ImageBuild[]): Promise<string[]> {
  const seeded: string[] = []
  for (const repo of repos) {
    const file = generatedVersionFile(repo.dest)
    const build = builds.find((b) => b.image === repo.image)
    if (!file || !build || fs.existsSync(path.join(repo.dest, file))) continue
    const copy = await podman(['run', '--rm', '--entrypoint', 'cat', build.ref, `${devDataPath(repo)}/${file}`], {
      nothrow: true,
    })
    if (copy.exitCode !== 0) continue
    fs.writeFileSync(path.join(repo.dest, file), copy.stdout)
    seeded.push(`${repo.name}/${file}`)
  }
  return seeded
}
