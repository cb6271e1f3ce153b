// Warm `up` of the real environment in several shapes: the test copy of
// dev_dummyauth (real images, lib/test-environments.ts) as it is, and copies
// of it that differ by a pod patch or deploy settings (without the
// accounting container, with more or fewer compute nodes). Each shape is
// brought up `rounds` times, the images already built, and timed until `up`
// returns (the hub answers and Slurm is ready); after its last `up`, the
// memory of its pods as `podman pod stats` reports it.
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { UserError } from '../../scripts/lib/errors.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { podman } from '../../scripts/lib/podman.ts'
import { testEnvironment, testEnvironmentsDir } from '../e2e/lib/test-environments.ts'
import { timed } from './timed.ts'
import { median } from './warm.ts'

export interface Shape {
  /** Added to the environment's name: e2e_dev_dummyauth_<suffix>. */
  suffix: string
  /** What the shape is, for the table. */
  label: string
  /** config/<env>/pod.yaml of the copy, laid over dev_dummyauth's pod; none: the same pod. */
  podPatch?: string
  /** Deploy settings set in the copy's deploy-config.yaml. */
  settings?: Record<string, unknown>
}

export interface ShapeResult {
  label: string
  seconds: number[]
  memoryMiB: number
}

/** The shapes that show what the accounting container costs. */
export const ACCOUNTING_SHAPES: Shape[] = [
  { suffix: 'acct', label: 'with accounting (as shipped)' },
  {
    suffix: 'noacct',
    label: 'without the accounting container',
    podPatch: 'spec:\n  containers:\n    - name: accounting\n      $patch: delete\n    - name: slurm\n      env: []\n',
  },
]

/** The shapes that show what compute nodes cost: none (Slurm's jobs in its container), two (the default), four. */
export const NODE_SHAPES: Shape[] = [0, 2, 4].map((n) => ({
  suffix: `nodes${n}`,
  label: `${n} compute node${n === 1 ? '' : 's'}`,
  settings: { slurmNodes: n },
}))

/** Hosts ports of the shapes' copies: apart from the suites' (9000 to 9083). */
const SHAPE_PORT = 9400

/** Makes the shape's copy of the test copy of dev_dummyauth; its name. */
function makeShape(shape: Shape, index: number): string {
  const base = testEnvironment('dev_dummyauth')
  const name = `${base.name}_${shape.suffix}`
  const config = path.join(testEnvironmentsDir, 'config', name)
  const volumes = path.join(testEnvironmentsDir, 'volumes', name)
  for (const dir of [config, volumes]) fs.rmSync(dir, { recursive: true, force: true })
  fs.cpSync(base.configDir, config, { recursive: true })
  fs.cpSync(base.volumesDir, volumes, { recursive: true })
  fs.writeFileSync(path.join(config, 'launcher.yaml'), `hostPort: ${SHAPE_PORT + index}\n`)
  if (shape.podPatch) fs.writeFileSync(path.join(config, 'pod.yaml'), shape.podPatch)
  if (shape.settings) {
    const file = path.join(config, 'deploy-config.yaml')
    const doc = YAML.parseDocument(fs.readFileSync(file, 'utf8'))
    for (const [key, value] of Object.entries(shape.settings)) doc.set(key, value)
    fs.writeFileSync(file, doc.toString())
  }
  return name
}

const ours = (...args: string[]) => timed([process.execPath, 'bin/jh-slurm-pod.mjs', ...args], { cwd: repoRoot })

/**
 * MiB in use by the environment's pods (its pod and any pod named after it:
 * compute nodes, a stand-in server), as `podman pod stats` reports each
 * container, the pods' infra containers included.
 */
async function podsMemoryMiB(env: string): Promise<number> {
  const pod = `jupyterhub-slurm-${env.replaceAll('_', '-')}`
  const pods = (await podman(['pod', 'ps', '--format', '{{.ID}} {{.Name}}'])).stdout.trim().split('\n')
  const ids = pods
    .map((line) => line.split(' '))
    .filter(([, name]) => name === pod || name?.startsWith(`${pod}-`))
    .map(([id]) => id)
  const stats = await podman(['pod', 'stats', '--no-stream', '--format', 'json'])
  const rows = JSON.parse(stats.stdout || '[]') as Array<{ Pod?: string; MemUsage?: string }>
  const mine = rows.filter((r) => ids.some((id) => id && r.Pod && (id.startsWith(r.Pod) || r.Pod.startsWith(id))))
  if (mine.length === 0) throw new UserError(`podman pod stats has no pod of ${env}`)
  return mine.reduce((sum, r) => sum + mebibytes(r.MemUsage?.split('/')[0] ?? ''), 0)
}

/** "123.4MB" or "1.2GB" (podman's units: powers of 1000) in MiB. */
function mebibytes(text: string): number {
  const m = /([\d.]+)\s*([kMG]?)B/.exec(text)
  if (!m) return 0
  const factor = { '': 1, k: 1e3, M: 1e6, G: 1e9 }[m[2] as '' | 'k' | 'M' | 'G']
  return (Number(m[1]) * factor) / 2 ** 20
}

async function measureShape(shape: Shape, index: number, rounds: number): Promise<ShapeResult> {
  const env = makeShape(shape, index)
  const seconds: number[] = []
  try {
    // The first up builds what this shape lacks and is not counted.
    for (let i = 0; i <= rounds; i++) {
      const run = await ours('up', env)
      if (i > 0) seconds.push(run.seconds)
      console.log(`  ${shape.label}: up ${i === 0 ? '(not counted)' : i} ${run.seconds.toFixed(2)} s`)
      if (i < rounds) await ours('down', env)
    }
    return { label: shape.label, seconds, memoryMiB: await podsMemoryMiB(env) }
  } finally {
    await ours('down', env)
  }
}

/** Each shape's warm `up` times and memory, shapes taking turns in order. */
export async function warmUpShapes(shapes: Shape[], rounds: number, firstPort = 0): Promise<ShapeResult[]> {
  const results: ShapeResult[] = []
  for (const [i, shape] of shapes.entries()) results.push(await measureShape(shape, firstPort + i, rounds))
  for (const r of results)
    console.log(`  ${r.label}: median ${median(r.seconds).toFixed(2)} s, ${r.memoryMiB.toFixed(0)} MiB`)
  return results
}
