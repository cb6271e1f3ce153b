// Benchmark: time and memory of `up` and `down` with cached images, over a
// few cycles. Reports, asserts nothing: `npm run bench -- [--cycles N] [<env>]`.
// Needs a working podman (JH_SLURM_PODMAN) and images built once (npm run up).
import fs from 'node:fs'
import path from 'node:path'
import { buildSettings } from '../../scripts/build-images.ts'
import { teardown } from '../../scripts/down.ts'
import { parseCommandLine } from '../../scripts/lib/cli.ts'
import { runMain, UserError } from '../../scripts/lib/errors.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { buildOptions } from '../../scripts/build-images.ts'
import { up } from '../../scripts/up.ts'
import { resourceNames } from '../../scripts/lib/names.ts'

const cli = {
  command: 'bench',
  summary: 'Time `up` (images cached) and `down` over several cycles and report the launcher\'s peak memory.',
  positionals: ['[<env>]'],
  options: { ...buildOptions, cycles: { type: 'string', value: 'N', description: 'number of up/down cycles (default 3)' } },
} as const

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0

runMain(async () => {
  const { values, positionals } = parseCommandLine(cli)
  const envName = positionals[0] ?? 'dev_dummyauth'
  const cycles = Number(values.cycles ?? 3)
  if (!Number.isInteger(cycles) || cycles < 1) throw new UserError('--cycles takes a positive whole number', 2)
  const build = buildSettings(values)
  const ups: number[] = []
  const downs: number[] = []
  for (let i = 0; i < cycles; i++) {
    let start = Date.now()
    const code = await up({ envName, build, keepBuildData: false, waitSeconds: 300 })
    if (code !== 0) throw new UserError(`up failed in cycle ${i + 1} (exit ${code})`)
    ups.push((Date.now() - start) / 1000)
    start = Date.now()
    await teardown([resourceNames(envName)])
    downs.push((Date.now() - start) / 1000)
  }
  const result = {
    env: envName,
    cycles,
    upSeconds: { median: median(ups), all: ups },
    downSeconds: { median: median(downs), all: downs },
    launcherPeakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  }
  const out = path.join(repoRoot, 'test-output', 'bench.json')
  fs.mkdirSync(path.dirname(out), { recursive: true })
  fs.writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`)
  console.log(`\nup (to a healthy hub): median ${result.upSeconds.median.toFixed(1)} s; down: median ${result.downSeconds.median.toFixed(1)} s; launcher peak RSS ${result.launcherPeakRssMiB} MiB (${out})`)
})
