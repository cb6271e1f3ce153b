// `npm run bench -- [--rounds N] [--spawns N] [--no-warm] [--no-notebook] [--no-shapes] [--cold] [--trace]`
//
// Measures the launcher and prints each figure beside its goal; it asserts
// nothing and exits 0 once it has measured. Results also go to
// test-output/bench.json. Needs podman (JH_SLURM_PODMAN) and the bundle of
// the original launcher (found as the e2e suite finds the package bundles).
//
// 1. Warm cycle (warm.ts): `up` (not waiting for the hub) and `down` of ours,
//    started by node and as typed (`npm run`), against the original launcher
//    (original.ts), on trivial images, in a podman store of its own.
// 2. Memory: the peak RSS (VmHWM) of our `up` over those runs.
// 3. Time to a usable notebook (notebook.ts), with the real images.
// 4. Warm `up` of the real environment in several shapes (shapes.ts): what
//    the accounting container adds, and 0, 2 and 4 compute nodes.
// 5. --cold (cold.ts): both images built at once against one after the other.
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { runMain, UsageError } from '../../scripts/lib/errors.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { coldBuilds } from './cold.ts'
import { timeToNotebook } from './notebook.ts'
import { ORIGINAL_REF } from './original.ts'
import { ACCOUNTING_SHAPES, NODE_SHAPES, type ShapeResult, warmUpShapes } from './shapes.ts'
import { median, type WarmResult, warmCycle } from './warm.ts'

const HELP = `Usage: npm run bench -- [options]

Times warm up and down of ours against the original launcher (${ORIGINAL_REF}), peak memory,
time to a usable notebook, and (--cold) parallel against serial builds.

Options:
  --rounds N      rounds of the warm cycle, each running every contender once (default 6, at least 3)
  --spawns N      notebook spawns to time (default 5)
  --no-warm       skip the warm cycle and the memory measurement
  --no-notebook   skip the time to a notebook (needs the real images and their build settings)
  --no-shapes     skip the warm up of the real environment in its shapes (with and without
                  accounting; 0, 2 and 4 compute nodes)
  --cold          also time cold builds, serial against parallel (several minutes)
  --trace         print the commands of the last warm up and down of ours (JH_SLURM_TRACE)
  -h, --help      show this help
`

interface Row {
  target: string
  figure: string
  goal: string
  met: boolean
}

const s = (x: number) => `${x.toFixed(2)} s`

/** Rows of the warm cycle: each of ours against the original, and what the build skip saves. */
function warmRows(w: WarmResult): Row[] {
  const m = (name: string, step: 'up' | 'down') => median(w.times[name]?.[step] ?? [])
  const rows: Row[] = []
  for (const step of ['up', 'down'] as const) {
    const original = m('original', step)
    for (const [name, goal] of [
      ['ours (node)', 1],
      ['ours (npm run)', undefined],
    ] as const) {
      const ratio = m(name, step) / original
      rows.push({
        target: `warm ${step}${step === 'up' ? ' (no wait)' : ''}, ${name} / original`,
        figure: `${s(m(name, step))} / ${s(original)} = ×${ratio.toFixed(2)}`,
        goal: goal ? `≤ ×${goal.toFixed(2)}` : '(reported)',
        met: goal ? ratio <= goal : true,
      })
    }
  }
  const skip = m('ours (node), no build skip', 'up') - m('ours (node)', 'up')
  rows.push({ target: 'up: time the build skip saves', figure: s(skip), goal: '(reported)', met: true })
  for (const step of ['up', 'down'] as const) {
    const saved = m('ours (tsx), no bundle', step) - m('ours (node)', step)
    rows.push({
      target: `${step}: time the bundle saves (against tsx)`,
      figure: s(saved),
      goal: '(reported)',
      met: true,
    })
  }
  const peak = Math.max(...w.peakRssMiB)
  rows.push({ target: 'peak RSS of up (node)', figure: `${peak.toFixed(0)} MiB`, goal: '≤ 100 MiB', met: peak <= 100 })
  return rows
}

function printTable(rows: Row[]): void {
  const width = Math.max(...rows.map((r) => r.target.length))
  const figureWidth = Math.max(...rows.map((r) => r.figure.length))
  console.log(`\n${'target'.padEnd(width)}  ${'figure'.padEnd(figureWidth)}  goal        met`)
  for (const r of rows)
    console.log(
      `${r.target.padEnd(width)}  ${r.figure.padEnd(figureWidth)}  ${r.goal.padEnd(10)}  ${r.met ? 'yes' : 'NO'}`,
    )
}

/** What the accounting container adds to a warm `up` of the real environment. */
function accountingRow([withIt, without]: ShapeResult[]): Row {
  const added = median(withIt?.seconds ?? []) - median(without?.seconds ?? [])
  return {
    target: 'warm up (real images, until ready): with accounting − without',
    figure: `${s(median(withIt?.seconds ?? []))} − ${s(median(without?.seconds ?? []))} = ${s(added)}; memory ${withIt?.memoryMiB.toFixed(0)} MiB against ${without?.memoryMiB.toFixed(0)} MiB`,
    goal: '≤ 3 s',
    met: added <= 3,
  }
}

/** What two compute nodes (the default) cost a warm `up`, against none; each shape's memory. */
function nodesRows([none, two, four]: ShapeResult[]): Row[] {
  const [t0, t2] = [median(none?.seconds ?? []), median(two?.seconds ?? [])]
  const memory = [none, two, four].map((r) => `${r?.label}: ${r?.memoryMiB.toFixed(0)} MiB`).join(', ')
  return [
    {
      target: 'warm up (real images, until ready): 2 nodes / 0 nodes',
      figure: `${s(t2)} / ${s(t0)} = ×${(t2 / t0).toFixed(2)} (4 nodes: ${s(median(four?.seconds ?? []))})`,
      goal: '≤ ×1.3',
      met: t2 / t0 <= 1.3,
    },
    { target: 'memory of the environment (podman pod stats)', figure: memory, goal: 'reported', met: true },
  ]
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '6' },
      spawns: { type: 'string', default: '5' },
      'no-warm': { type: 'boolean' },
      'no-notebook': { type: 'boolean' },
      'no-shapes': { type: 'boolean' },
      cold: { type: 'boolean' },
      trace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const rounds = Number(values.rounds)
  const spawns = Number(values.spawns)
  if (!Number.isInteger(rounds) || rounds < 3) throw new UsageError('--rounds takes a whole number, at least 3')
  if (!Number.isInteger(spawns) || spawns < 1) throw new UsageError('--spawns takes a positive whole number')
  if (values['no-warm'] && values['no-notebook'] && values['no-shapes'] && !values.cold)
    throw new UsageError('nothing to measure: --no-warm, --no-notebook and --no-shapes without --cold')
  return { ...values, rounds, spawns }
}

/** Measures what the options ask for; the rows of the table and the data for bench.json. */
async function measure(o: ReturnType<typeof parseOptions>): Promise<{ rows: Row[]; data: Record<string, unknown> }> {
  const rows: Row[] = []
  const data: Record<string, unknown> = { date: new Date().toISOString(), originalRef: ORIGINAL_REF }
  if (!o['no-warm']) {
    const warm = await warmCycle(o.rounds, o.trace === true)
    if (o.trace) console.log(`trace of the last up and down of ours (node):\n${warm.trace.join('\n')}`)
    rows.push(...warmRows(warm))
    data.warm = warm
  }
  if (!o['no-notebook']) {
    const spawns = await timeToNotebook(o.spawns)
    const m = median(spawns)
    rows.push({
      target: 'spawn request → JupyterLab through the proxy (dev)',
      figure: `${s(m)} median of ${spawns.length}`,
      goal: '≤ 4 s',
      met: m <= 4,
    })
    data.notebook = { spawns }
  }
  if (!o['no-shapes']) {
    const rounds = Math.min(o.rounds, 5)
    const accounting = await warmUpShapes(ACCOUNTING_SHAPES, rounds)
    rows.push(accountingRow(accounting))
    const nodes = await warmUpShapes(NODE_SHAPES, rounds, ACCOUNTING_SHAPES.length)
    rows.push(...nodesRows(nodes))
    data.shapes = [...accounting, ...nodes]
  }
  if (o.cold) {
    const cold = await coldBuilds()
    const ratio = cold.parallel.seconds / cold.serial.seconds
    rows.push({
      target: 'cold build of both images, parallel / serial',
      figure: `${cold.parallel.seconds.toFixed(0)} s / ${cold.serial.seconds.toFixed(0)} s = ×${ratio.toFixed(2)} (CPU floor ×${cold.floor.toFixed(2)} on ${cold.cores} cores)`,
      goal: '≤ ×0.70',
      met: ratio <= 0.7,
    })
    data.cold = cold
  }
  return { rows, data }
}

runMain(async () => {
  const options = parseOptions()
  if (options.help) return void process.stdout.write(HELP)
  const { rows, data } = await measure(options)
  const out = path.join(repoRoot, 'test-output', 'bench.json')
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, `${JSON.stringify({ ...data, rows }, null, 2)}\n`)
  printTable(rows)
  console.log(`\n(${out})`)
})
