// Cold builds: both real images built at once against one after the other,
// each on a fresh image store that holds only the base images.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { UserError } from '../../scripts/lib/errors.ts'
import { baseImageOf, buildSettingsFromVariables, planImageBuild } from '../../scripts/lib/images.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { podmanCommand } from '../../scripts/lib/podman.ts'
import { removeStore, scratchStore } from './store.ts'
import { timed } from './timed.ts'

const work = path.join(repoRoot, 'test', 'bench', '_build_tmp')

export interface ColdBuild {
  seconds: number
  /** Busy core-seconds of the whole machine while the builds ran. */
  busy: number
}

export interface ColdResult {
  serial: ColdBuild
  parallel: ColdBuild
  cores: number
  /** The lowest parallel/serial ratio the serial run's CPU work allows on these cores. */
  floor: number
}

/** Core-seconds the machine's CPUs have spent busy since boot (all but idle and iowait, from /proc/stat). */
function busyCoreSeconds(): number {
  const [, ...ticks] = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks
  return (user + nice + system + irq + softirq + steal) / 100
}

/** The base images the two Containerfiles start from, as the build arguments name them. */
function baseImages(): string[] {
  const settings = buildSettingsFromVariables()
  return (['jupyterhub', 'slurm'] as const).map((image) => {
    const base = baseImageOf(planImageBuild(image, settings, repoPaths()))
    if (!base) throw new UserError(`no BASE_IMAGE build argument for ${image}`)
    return base
  })
}

/** Times `build-images` of `images` (in one command) on a fresh store holding only the bases. */
async function coldBuild(images: string[][], bases: string[]): Promise<ColdBuild> {
  const storeDir = path.join(work, 'cold-store')
  const store = await scratchStore(storeDir, podmanCommand(), bases)
  const env = { ...process.env, JH_SLURM_PODMAN: store.join(' ') }
  try {
    let seconds = 0
    const before = busyCoreSeconds()
    for (const group of images) {
      const args = [...group.flatMap((i) => ['--image', i]), '--tag', 'bench-cold']
      const run = await timed([process.execPath, 'bin/jh-slurm-pod.mjs', 'build-images', ...args], {
        cwd: repoRoot,
        env,
      })
      console.log(`  ${group.join(' and ')}: ${run.seconds.toFixed(1)} s`)
      seconds += run.seconds
    }
    return { seconds, busy: busyCoreSeconds() - before }
  } finally {
    await removeStore(storeDir, podmanCommand())
  }
}

export async function coldBuilds(): Promise<ColdResult> {
  const bases = baseImages()
  console.log(`cold builds: serial, then parallel, each on a fresh store with ${bases.join(', ')}`)
  const serial = await coldBuild([['jupyterhub'], ['slurm']], bases)
  const parallel = await coldBuild([['jupyterhub', 'slurm']], bases)
  const cores = os.availableParallelism()
  // However well the two builds overlap, the serial run's work cannot be done
  // in less time than it keeps all cores busy.
  return { serial, parallel, cores, floor: serial.busy / cores / serial.seconds }
}
