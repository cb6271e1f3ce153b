// `npm run bench -- [--pairs N] [--spawns N] [--no-notebook] [--cold]`
//
// Measures the launcher against its targets and prints each figure beside
// its goal; it asserts nothing and always exits 0 once it has measured.
//
// 1. Warm cycle: `up` (not waiting for the hub) and `down` of ours against
//    baseline/launcher.sh, the original's sequence of podman and ssh-keygen
//    commands, on the trivial images of trivial-images/, alternating, N pairs.
//    Ours runs from a scratch copy of the repository whose two Containerfiles
//    are the trivial ones (environment `bench`, host port 18001), started the
//    way `npm run up` starts it (`node scripts/run.mjs up ...`).
// 2. Memory: the peak RSS (VmHWM) of our `up` process over those runs.
// 3. Time to a usable notebook: brings up dev_dummyauth with the real images
//    (build settings from the environment, as `npm run up`), logs in, and
//    times from the spawn request to JupyterLab answering through the proxy.
// 4. --cold: building both images at once against one after the other, each
//    on a fresh image store holding only the base images.
//
// Needs podman (JH_SLURM_PODMAN). Results also go to test-output/bench.json.
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseCommandLine } from '../../scripts/lib/cli.ts'
import { runMain, UserError } from '../../scripts/lib/errors.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { podman, podmanCommand } from '../../scripts/lib/podman.ts'
import { containerName, resourceNames } from '../../scripts/lib/names.ts'
import { pollUntil } from '../../scripts/lib/wait.ts'
import { formAction, formXsrf, HubClient } from '../e2e/lib/browserless.ts'
import { benchNames, runBaseline } from './baseline.ts'

const here = path.join(repoRoot, 'test', 'bench')
const scratch = path.join(here, '_build_tmp', 'ours')
const BENCH_ENV = 'bench'
const BENCH_PORT = 18001

const cli = {
  command: 'bench',
  summary:
    'Measure warm up/down against the shell baseline, peak memory, time to a usable notebook, and (--cold) parallel against serial builds.',
  options: {
    pairs: {
      type: 'string',
      value: 'N',
      description: 'alternating baseline/ours pairs for the warm cycle (default 6, at least 5)',
    },
    spawns: { type: 'string', value: 'N', description: 'notebook spawns to time (default 5)' },
    'no-warm': { type: 'boolean', description: 'skip the warm cycle and memory measurement' },
    'no-notebook': { type: 'boolean', description: 'skip the time-to-notebook measurement (needs the real images)' },
    cold: { type: 'boolean', description: 'also time cold builds, serial against parallel (several minutes)' },
    trace: {
      type: 'boolean',
      description: 'print the commands of the last warm up and down of ours, with their times (JH_SLURM_TRACE)',
    },
  },
} as const

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

interface Timed {
  seconds: number
  peakRssKiB: number
  output: string
}

/** Runs a command to completion; its time, and the peak RSS of that process (polled from /proc). */
function timed(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let peak = 0
    const sample = () => {
      try {
        const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))
        if (hwm) peak = Math.max(peak, Number(hwm[1]))
      } catch {
        // gone
      }
    }
    const timer = setInterval(sample, 10)
    child.stdout.on('data', (c: Buffer) => (output += c))
    child.stderr.on('data', (c: Buffer) => (output += c))
    child.on('error', reject)
    // The last sample before the process is reaped: VmHWM only grows.
    child.on('exit', sample)
    child.on('close', (code) => {
      clearInterval(timer)
      const seconds = (performance.now() - start) / 1000
      if (code !== 0)
        reject(
          new UserError(
            `${argv.slice(0, 4).join(' ')} failed (exit ${code}):\n${output.trim().split('\n').slice(-8).join('\n')}`,
          ),
        )
      else resolve({ seconds, peakRssKiB: peak, output })
    })
  })
}

/** A copy of the repository whose images are the trivial ones, with an environment `bench`. */
function makeScratchRepo(): void {
  fs.rmSync(scratch, { recursive: true, force: true })
  const copy = (from: string, to = from) =>
    fs.cpSync(path.join(repoRoot, from), path.join(scratch, to), {
      recursive: true,
      filter: (src) => !src.includes('.compiled'),
    })
  copy('scripts')
  copy('package.json')
  copy('jh_slurm_pod.yaml')
  copy('volumes/dev_dummyauth', `volumes/${BENCH_ENV}`)
  copy('config/dev_dummyauth/dev_users', `config/${BENCH_ENV}/dev_users`)
  fs.writeFileSync(path.join(scratch, 'config', BENCH_ENV, 'deploy-config.yaml'), '{}\n')
  fs.writeFileSync(path.join(scratch, 'config', BENCH_ENV, 'launcher.yaml'), `hostPort: ${BENCH_PORT}\n`)
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(scratch, 'node_modules'))
  for (const [dir, trivial, clone] of [
    ['brics_jupyterhub', 'hub', 'bricsauthenticator'],
    ['brics_slurm', 'slurm', 'slurmspawner_wrappers'],
  ] as const) {
    copy(`${dir}/build.args`)
    // The trivial images' base, under the name their build argument gives it.
    const args = path.join(scratch, dir, 'build.args')
    fs.writeFileSync(
      args,
      fs.readFileSync(args, 'utf8').replace(/^BASE_IMAGE=.*$/m, 'BASE_IMAGE=localhost/test-double/debian:bookworm'),
    )
    fs.copyFileSync(
      path.join(here, 'trivial-images', trivial, 'Containerfile'),
      path.join(scratch, dir, 'Containerfile'),
    )
    // Clones exist at their pins: `up` skips the clone step, as in a warm cycle.
    const cloneDir = path.join(scratch, dir, '_dev_build_data', clone)
    fs.mkdirSync(cloneDir, { recursive: true })
    const pin = new RegExp(`^${clone.toUpperCase()}_REF=(.*)$`, 'm').exec(
      fs.readFileSync(path.join(repoRoot, dir, 'build.args'), 'utf8'),
    )?.[1]
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', cloneDir, '-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args])
    git('init', '--quiet')
    git('commit', '--quiet', '--allow-empty', '--message', 'stand-in for the pinned release')
    if (pin) git('tag', pin)
  }
}

let traceOurs = false
const oursEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, JH_SLURM_TRACE: traceOurs ? '1' : '' }
  for (const key of Object.keys(env))
    if (/^JH_SLURM_(HUB|SLURM)_ARGS_FILE$|^JH_SLURM_BUILD_CA_BUNDLE$/.test(key)) delete env[key]
  return env
}
const oursUp = () =>
  timed([process.execPath, 'bin/jh-slurm-pod.mjs', 'up', BENCH_ENV, '--wait', '0', '--tag', 'bench'], {
    cwd: scratch,
    env: oursEnv(),
  })
const oursDown = () =>
  timed([process.execPath, 'bin/jh-slurm-pod.mjs', 'down', BENCH_ENV], { cwd: scratch, env: oursEnv() })

interface Row {
  target: string
  figure: string
  goal: string
  met: boolean
}

async function warmCycle(pairs: number): Promise<{ rows: Row[]; data: Record<string, unknown> }> {
  makeScratchRepo()
  console.log('warm cycle: warming up (builds the trivial images, compiles the launcher)')
  // Whatever an interrupted benchmark left behind.
  await oursDown()
  await runBaseline('down').catch(() => undefined)
  await runBaseline('up')
  await runBaseline('down')
  await oursUp()
  await oursDown()
  const t = {
    baselineUp: [] as number[],
    oursUp: [] as number[],
    baselineDown: [] as number[],
    oursDown: [] as number[],
    rss: [] as number[],
  }
  for (let i = 0; i < pairs; i++) {
    const baseline = async () => {
      t.baselineUp.push(await runBaseline('up'))
      t.baselineDown.push(await runBaseline('down'))
    }
    const ours = async () => {
      const up = await oursUp()
      t.oursUp.push(up.seconds)
      t.rss.push(up.peakRssKiB / 1024)
      const down = await oursDown()
      t.oursDown.push(down.seconds)
      if (traceOurs && i === pairs - 1) {
        for (const [step, run] of [
          ['up', up],
          ['down', down],
        ] as const) {
          console.log(`  trace of ours, ${step} (${run.seconds.toFixed(2)} s):`)
          for (const line of run.output.split('\n')) if (line.startsWith('[trace]')) console.log(`    ${line}`)
        }
      }
    }
    // Alternating which goes first, so that neither always follows the other.
    if (i % 2 === 0) await baseline().then(ours)
    else await ours().then(baseline)
    console.log(
      `  pair ${i + 1}: up ${t.baselineUp.at(-1)?.toFixed(2)} s (baseline) / ${t.oursUp.at(-1)?.toFixed(2)} s (ours); down ${t.baselineDown.at(-1)?.toFixed(2)} / ${t.oursDown.at(-1)?.toFixed(2)} s; peak RSS ${t.rss.at(-1)?.toFixed(0)} MiB`,
    )
  }
  const upRatio = median(t.oursUp) / median(t.baselineUp)
  const downRatio = median(t.oursDown) / median(t.baselineDown)
  const peak = Math.max(...t.rss)
  return {
    rows: [
      {
        target: 'warm up (no wait), ours / baseline',
        figure: `${median(t.oursUp).toFixed(2)} s / ${median(t.baselineUp).toFixed(2)} s = ×${upRatio.toFixed(2)}`,
        goal: '≤ ×1.00',
        met: upRatio <= 1,
      },
      {
        target: 'down, ours / baseline',
        figure: `${median(t.oursDown).toFixed(2)} s / ${median(t.baselineDown).toFixed(2)} s = ×${downRatio.toFixed(2)}`,
        goal: '≤ ×1.00',
        met: downRatio <= 1,
      },
      {
        target: 'launcher peak RSS during up',
        figure: `${peak.toFixed(0)} MiB (median ${median(t.rss).toFixed(0)})`,
        goal: '≤ 100 MiB',
        met: peak <= 100,
      },
    ],
    data: { pairs, ...t, upRatio, downRatio, peakRssMiB: peak },
  }
}

async function inContainer(container: string, command: string[]): Promise<string> {
  return (await podman(['exec', container, ...command], { nothrow: true })).stdout.trim()
}

async function timeToNotebook(spawns: number): Promise<{ rows: Row[]; data: Record<string, unknown> }> {
  const env = 'dev_dummyauth'
  const names = resourceNames(env)
  console.log(`time to notebook: bringing up ${env} with the real images`)
  await timed([process.execPath, 'bin/jh-slurm-pod.mjs', 'up', env], { cwd: repoRoot })
  const hub = 'http://127.0.0.1:8000/'
  const user = 'testuser'
  const seconds: number[] = []
  try {
    const client = new HubClient(hub)
    const login = await client.request('jupyter/hub/login')
    const password = fs.readFileSync(repoPaths().devLoginPasswordFile(env), 'utf8').trim()
    await client.request('jupyter/hub/login', { form: { _xsrf: formXsrf(login.body), password } })
    for (let i = 0; i < spawns; i++) {
      const form = await client.request('jupyter/hub/spawn')
      const start = performance.now()
      await client.request(formAction(form.body), {
        form: { brics_project: 'project1.brics', runtime: '01:00:00', ngpus: '1', partition: '', reservation: '' },
      })
      const { value } = await pollUntil(
        120_000,
        async () => {
          const r = await client.request(`jupyter/user/${user}/lab`)
          return r.status === 200 && r.url.includes(`/jupyter/user/${user}/lab`) && /JupyterLab/.test(r.body)
            ? true
            : undefined
        },
        100,
      )
      if (!value) throw new UserError(`spawn ${i + 1}: JupyterLab did not answer within 120 s`)
      seconds.push((performance.now() - start) / 1000)
      console.log(`  spawn ${i + 1}: ${seconds.at(-1)?.toFixed(2)} s`)
      await client.api(`jupyter/hub/api/users/${user}/server`, 'DELETE')
      await pollUntil(
        120_000,
        async () => ((await inContainer(containerName(names, 'slurm'), ['squeue', '-h'])) === '' ? true : undefined),
        200,
      )
      await pollUntil(
        60_000,
        async () =>
          JSON.parse((await client.api(`jupyter/hub/api/users/${user}`)).body).servers?.[''] ? undefined : true,
        200,
      )
    }
  } finally {
    await timed([process.execPath, 'bin/jh-slurm-pod.mjs', 'down', env], { cwd: repoRoot })
  }
  const m = median(seconds)
  return {
    rows: [
      {
        target: 'spawn request → JupyterLab through the proxy (dev)',
        figure: `${m.toFixed(2)} s median of ${seconds.length}`,
        goal: '≤ 4 s',
        met: m <= 4,
      },
    ],
    data: { spawns: seconds },
  }
}

/** Core-seconds the machine's CPUs have spent busy since boot (all but idle and iowait, from /proc/stat). */
function busyCoreSeconds(): number {
  const [, ...ticks] = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).map(Number)
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks
  return (user + nice + system + irq + softirq + steal) / 100
}

interface ColdBuild {
  seconds: number
  /** Busy core-seconds of the whole machine while the builds ran. */
  busy: number
}

/** Times a build of the real images on a fresh image store that holds only the base images. */
async function coldBuild(parallel: boolean, bases: string[]): Promise<ColdBuild> {
  const store = path.join(here, '_build_tmp', `store-${parallel ? 'parallel' : 'serial'}`)
  fs.rmSync(store, { recursive: true, force: true })
  const podman = [...podmanCommand(), '--root', path.join(store, 'root'), '--runroot', path.join(store, 'run')]
  const archive = path.join(here, '_build_tmp', 'bases.tar')
  if (!fs.existsSync(archive))
    await timed([...podmanCommand(), 'save', '--multi-image-archive', '--output', archive, ...bases], { cwd: repoRoot })
  await timed([...podman, 'load', '--input', archive], { cwd: repoRoot })
  const env = { ...process.env, JH_SLURM_PODMAN: podman.join(' ') }
  const build = async (images: string[]): Promise<ColdBuild> => {
    const before = busyCoreSeconds()
    const { seconds } = await timed(
      [
        process.execPath,
        'bin/jh-slurm-pod.mjs',
        'build-images',
        ...images.flatMap((i) => ['--image', i]),
        '--tag',
        'bench-cold',
      ],
      { cwd: repoRoot, env },
    )
    return { seconds, busy: busyCoreSeconds() - before }
  }
  try {
    if (parallel) return await build(['jupyterhub', 'slurm'])
    const hub = await build(['jupyterhub'])
    const slurm = await build(['slurm'])
    console.log(`  serial: hub ${hub.seconds.toFixed(1)} s, Slurm ${slurm.seconds.toFixed(1)} s`)
    return { seconds: hub.seconds + slurm.seconds, busy: hub.busy + slurm.busy }
  } finally {
    // Only the scratch store goes (not `system reset`, which also takes networks and secrets).
    fs.rmSync(store, { recursive: true, force: true })
  }
}

async function coldBuilds(): Promise<{ rows: Row[]; data: Record<string, unknown> }> {
  // The base images the two Containerfiles start from, as the build arguments name them.
  const { baseImageOf, planImageBuild, buildSettingsFromVariables } = await import('../../scripts/lib/images.ts')
  const settings = buildSettingsFromVariables()
  const bases = (['jupyterhub', 'slurm'] as const).map((image) => {
    const base = baseImageOf(planImageBuild(image, settings, repoPaths()))
    if (!base) throw new UserError(`no BASE_IMAGE build argument for ${image}`)
    return base
  })
  bases.push('localhost/test-double/debian:bookworm')
  console.log(`cold builds: serial, then parallel, each on a fresh store with ${bases.join(', ')}`)
  const serial = await coldBuild(false, bases)
  const parallel = await coldBuild(true, bases)
  const cores = os.availableParallelism()
  const describe = (b: ColdBuild) =>
    `${b.seconds.toFixed(1)} s, CPUs busy ${b.busy.toFixed(0)} core-s (${(b.busy / b.seconds).toFixed(2)} of ${cores} cores on average)`
  console.log(`  serial: ${describe(serial)}`)
  console.log(`  parallel: ${describe(parallel)}`)
  const ratio = parallel.seconds / serial.seconds
  // However well the two builds overlap, the work of the serial run cannot be
  // done in less time than it keeps all cores busy: its ratio floor.
  const floor = serial.busy / cores / serial.seconds
  console.log(`  lowest ratio these cores allow for the serial run's CPU work: ×${floor.toFixed(2)}`)
  return {
    rows: [
      {
        target: 'cold build of both images, parallel / serial',
        figure: `${parallel.seconds.toFixed(0)} s / ${serial.seconds.toFixed(0)} s = ×${ratio.toFixed(2)} (CPU floor ×${floor.toFixed(2)} on ${cores} cores)`,
        goal: '≤ ×0.70',
        met: ratio <= 0.7,
      },
    ],
    data: {
      serialSeconds: serial.seconds,
      parallelSeconds: parallel.seconds,
      serialBusyCoreSeconds: serial.busy,
      parallelBusyCoreSeconds: parallel.busy,
      cores,
      ratio,
      cpuFloorRatio: floor,
    },
  }
}

runMain(async () => {
  const { values } = parseCommandLine(cli, process.argv.slice(2))
  traceOurs = values.trace
  const pairs = Number(values.pairs ?? 6)
  const spawns = Number(values.spawns ?? 5)
  if (!Number.isInteger(pairs) || pairs < 5) throw new UserError('--pairs takes a whole number, at least 5', 2)
  if (!Number.isInteger(spawns) || spawns < 1) throw new UserError('--spawns takes a positive whole number', 2)
  const rows: Row[] = []
  const data: Record<string, unknown> = { date: new Date().toISOString(), baselineNames: benchNames }
  if (!values['no-warm']) {
    // The scratch copy goes afterwards: it holds a whole copy of scripts/ and its bundles.
    const warm = await warmCycle(pairs).finally(() => fs.rmSync(scratch, { recursive: true, force: true }))
    rows.push(...warm.rows)
    data.warm = warm.data
  }
  if (!values['no-notebook']) {
    const notebook = await timeToNotebook(spawns)
    rows.push(...notebook.rows)
    data.notebook = notebook.data
  }
  if (values.cold) {
    const cold = await coldBuilds()
    rows.push(...cold.rows)
    data.cold = cold.data
  }
  const out = path.join(repoRoot, 'test-output', 'bench.json')
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, `${JSON.stringify({ ...data, rows }, null, 2)}\n`)
  if (rows.length === 0) throw new UserError('nothing measured: --no-warm and --no-notebook without --cold', 2)
  const width = Math.max(...rows.map((r) => r.target.length))
  const figureWidth = Math.max(...rows.map((r) => r.figure.length))
  console.log(`\n${'target'.padEnd(width)}  ${'figure'.padEnd(figureWidth)}  goal        met`)
  for (const r of rows)
    console.log(
      `${r.target.padEnd(width)}  ${r.figure.padEnd(figureWidth)}  ${r.goal.padEnd(10)}  ${r.met ? 'yes' : 'NO'}`,
    )
  console.log(`\n(${out})`)
})
