// Warm cycle: `up` (not waiting for the hub) and `down` of ours against the
// original launcher, on the trivial images, in a podman store of the
// benchmark's own, taking turns. Ours runs from a scratch copy of the
// repository whose two Containerfiles are the trivial ones (environment
// `bench`, host port 18001), started by node and as typed (`npm run`).
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { UserError } from '../../scripts/lib/errors.ts'
import { ENVIRONMENTS_DIR_VARIABLE, repoRoot } from '../../scripts/lib/paths.ts'
import { podmanCommand } from '../../scripts/lib/podman.ts'
import { ORIGINAL_PORT, prepareOriginal } from './original.ts'
import { removeStore, scratchStore } from './store.ts'
import { type Timed, timed } from './timed.ts'

const here = path.join(repoRoot, 'test', 'bench')
const work = path.join(here, '_build_tmp')
const trivialImages = path.join(here, 'trivial-images')
const TRIVIAL_BASE = 'localhost/test-double/debian:bookworm'
const BENCH_ENV = 'bench'
const BENCH_PORT = 18001

interface Contender {
  name: string
  up(): Promise<Timed>
  down(): Promise<Timed>
}

/** A copy of the repository whose images are the trivial ones, with an environment `bench` like dev_dummyauth. */
function makeScratchRepo(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true })
  const copy = (from: string, to = from) =>
    fs.cpSync(path.join(repoRoot, from), path.join(dir, to), {
      recursive: true,
      filter: (src) => path.basename(src) !== '.compiled',
    })
  for (const item of ['bin', 'scripts', 'package.json', 'jh_slurm_pod.yaml', 'volumes/_shared']) copy(item)
  copy('volumes/dev_dummyauth', `volumes/${BENCH_ENV}`)
  copy('config/dev_dummyauth', `config/${BENCH_ENV}`)
  fs.writeFileSync(path.join(dir, 'config', BENCH_ENV, 'launcher.yaml'), `hostPort: ${BENCH_PORT}\n`)
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'))
  // What `npm ci` does: the bundle the command runs while no source is newer.
  execFileSync(process.execPath, ['bin/bundle.mjs'], { cwd: dir })
  for (const [image, trivial, clone] of [
    ['brics_jupyterhub', 'hub', 'bricsauthenticator'],
    ['brics_slurm', 'slurm', 'slurmspawner_wrappers'],
  ] as const) {
    const args = fs.readFileSync(path.join(repoRoot, image, 'build.args'), 'utf8')
    fs.mkdirSync(path.join(dir, image))
    // The trivial images' base, under the name their build argument gives it.
    fs.writeFileSync(
      path.join(dir, image, 'build.args'),
      args.replace(/^BASE_IMAGE=.*$/m, `BASE_IMAGE=${TRIVIAL_BASE}`),
    )
    fs.copyFileSync(path.join(trivialImages, trivial, 'Containerfile'), path.join(dir, image, 'Containerfile'))
    const pin = new RegExp(`^${clone.toUpperCase()}_REF=(.*)$`, 'm').exec(args)?.[1]
    standInClone(path.join(dir, image, '_dev_build_data', clone), pin)
  }
}

/** A clone at its pin, so that `up` skips the clone step, as in a warm cycle. */
function standInClone(dir: string, pin: string | undefined): void {
  fs.mkdirSync(dir, { recursive: true })
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', dir, '-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args])
  git('init', '--quiet')
  git('commit', '--quiet', '--allow-empty', '--message', 'stand-in for the pinned release')
  if (pin) git('tag', pin)
}

/** Ours, run in `dir` with the scratch store: by node, as typed, without the bundle, without the build skip. */
function oursContenders(dir: string, store: string[], trace: boolean): Contender[] {
  const env: NodeJS.ProcessEnv = { ...process.env, JH_SLURM_PODMAN: store.join(' '), JH_SLURM_TRACE: trace ? '1' : '' }
  // The machine's build settings are for the real images.
  for (const key of ['JH_SLURM_HUB_ARGS_FILE', 'JH_SLURM_SLURM_ARGS_FILE', 'JH_SLURM_BUILD_CA_BUNDLE']) delete env[key]
  // Its environment `bench` is the scratch repository's own.
  delete env[ENVIRONMENTS_DIR_VARIABLE]
  const upArgs = ['up', BENCH_ENV, '--wait', '0', '--tag', BENCH_ENV]
  const byNode = (args: string[]) => timed([process.execPath, 'bin/jh-slurm-pod.mjs', ...args], { cwd: dir, env })
  // What the command runs when a source is newer than the bundle: the TypeScript through tsx.
  const byTsx = (args: string[]) =>
    timed([process.execPath, '--import', 'tsx', 'scripts/jh-slurm-pod.ts', ...args], { cwd: dir, env })
  const byNpm = (args: string[]) => timed(['npm', 'run', args[0] as string, '--', ...args.slice(1)], { cwd: dir, env })
  let nonce = 0
  // A changed file in each build context: podman build runs (all its layers cached), as before the skip.
  const changeInputs = () => {
    nonce++
    for (const image of ['brics_jupyterhub', 'brics_slurm'])
      fs.writeFileSync(path.join(dir, image, '.bench-nonce'), `${nonce}\n`)
  }
  return [
    { name: 'ours (node)', up: () => byNode(upArgs), down: () => byNode(['down', BENCH_ENV]) },
    { name: 'ours (npm run)', up: () => byNpm(upArgs), down: () => byNpm(['down', BENCH_ENV]) },
    { name: 'ours (tsx), no bundle', up: () => byTsx(upArgs), down: () => byTsx(['down', BENCH_ENV]) },
    {
      name: 'ours (node), no build skip',
      up: () => {
        changeInputs()
        return byNode(upArgs)
      },
      down: () => byNode(['down', BENCH_ENV]),
    },
  ]
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

export interface WarmResult {
  /** Seconds of each run, per contender and step. */
  times: Record<string, { up: number[]; down: number[] }>
  /** Peak RSS of ours started by node during `up`, MiB. */
  peakRssMiB: number[]
  /** JH_SLURM_TRACE lines of the last `up` and `down` of ours (with --trace). */
  trace: string[]
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** Each contender once (builds the images, makes podman's pause image), leftovers of a failed run first. */
async function warmUp(contenders: Contender[]): Promise<void> {
  for (const c of contenders) await c.down().catch(() => undefined)
  for (const c of contenders) {
    await c.up()
    await c.down()
  }
}

/** N rounds; each round runs every contender, starting one later than the round before. */
async function rounds(contenders: Contender[], n: number, result: WarmResult): Promise<void> {
  for (let round = 0; round < n; round++) {
    const line: string[] = []
    for (let i = 0; i < contenders.length; i++) {
      const c = contenders[(round + i) % contenders.length] as Contender
      const up = await c.up()
      const down = await c.down()
      result.times[c.name] ??= { up: [], down: [] }
      const t = result.times[c.name] as { up: number[]; down: number[] }
      t.up.push(up.seconds)
      t.down.push(down.seconds)
      if (c.name === 'ours (node)') {
        result.peakRssMiB.push(up.peakRssKiB / 1024)
        result.trace = [up, down].flatMap((r) => r.output.split('\n').filter((l) => l.startsWith('[trace]')))
      }
      line.push(`${c.name} ${up.seconds.toFixed(2)}/${down.seconds.toFixed(2)}`)
    }
    console.log(`  round ${round + 1} (up/down s): ${line.join('; ')}`)
  }
}

/** Runs the warm cycle in scratch folders under test/bench/_build_tmp, which it removes afterwards. */
export async function warmCycle(n: number, trace: boolean): Promise<WarmResult> {
  if (!(await portFree(ORIGINAL_PORT)))
    throw new UserError(`127.0.0.1:${ORIGINAL_PORT} is taken: the original launcher publishes its hub there`)
  const storeDir = path.join(work, 'store')
  const podman = podmanCommand()
  console.log('warm cycle: a podman store of its own, the original and ours on the trivial images')
  const store = await scratchStore(storeDir, podman, [TRIVIAL_BASE])
  const oursDir = path.join(work, 'ours')
  try {
    makeScratchRepo(oursDir)
    const original = prepareOriginal(path.join(work, 'original'), store, trivialImages)
    const contenders = [
      { name: 'original', up: original.up, down: original.down },
      ...oursContenders(oursDir, store, trace),
    ]
    await warmUp(contenders)
    const result: WarmResult = { times: {}, peakRssMiB: [], trace: [] }
    await rounds(contenders, n, result)
    return result
  } finally {
    await removeStore(storeDir, podman)
    for (const dir of ['ours', 'original']) fs.rmSync(path.join(work, dir), { recursive: true, force: true })
  }
}
