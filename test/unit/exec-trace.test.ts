import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { tempDir } from '../helpers.ts'

// Each case runs in a child process, with its own JH_SLURM_TRACE.
const script = `import { exec } from './scripts/lib/exec.ts'
import { registerSecret } from './scripts/lib/redact.ts'
registerSecret('s3cret-value-of-some-length')
await exec(['true', 'one', 's3cret-value-of-some-length'])
await exec(['false'], { nothrow: true })`

function run(env: NodeJS.ProcessEnv): string {
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  })
  assert.is(child.status, 0, child.stderr)
  return child.stderr
}

test('JH_SLURM_TRACE prints each command with its times and exit code, redacted', () => {
  const lines = run({ JH_SLURM_TRACE: '1' }).trim().split('\n')
  assert.is(lines.length, 2)
  assert.match(lines[0] ?? '', /^\[trace\] \d+\.\d{3}\.\.\d+\.\d{3} s exit 0: true one \[redacted\]$/)
  assert.not.match(lines[0] ?? '', /s3cret-value-of-some-length/)
  assert.match(lines[1] ?? '', /^\[trace\] .* exit 1: false$/)
})

test('without JH_SLURM_TRACE (empty, 0, false, no, off) nothing is printed', () => {
  for (const off of ['', '0', 'false', 'no', 'off', 'OFF']) assert.is(run({ JH_SLURM_TRACE: off }), '', off)
})

/** A one-task list as `up` runs it, in a terminal (script(1) gives it one); returns what the terminal got. */
function listInTerminal(env: NodeJS.ProcessEnv): string {
  const file = path.join(tempDir('jh-slurm-trace-'), 'list.mjs')
  const from = (module: string) => pathToFileURL(path.join(repoRoot, module)).href
  fs.writeFileSync(
    file,
    `import { Listr } from '${import.meta.resolve('listr2')}'
import { exec } from '${from('scripts/lib/exec.ts')}'
import { LIST_OPTIONS } from '${from('scripts/tasks/context.ts')}'
await new Listr([{ title: 'run true', task: () => exec(['true']) }], LIST_OPTIONS).run()`,
  )
  const command = `${process.execPath} --import tsx ${file}`
  const child = spawnSync('script', ['--quiet', '--return', '--command', command, '/dev/null'], {
    cwd: repoRoot,
    env: { ...process.env, TERM: 'xterm', CI: '', ...env },
    encoding: 'utf8',
  })
  assert.is(child.status, 0, child.stderr)
  return child.stdout
}

// listr2's drawing hides the cursor and rewrites lines in place.
const HIDE_CURSOR = '\x1b[?25l'

test('in a terminal the list is drawn; with JH_SLURM_TRACE it is written line by line beside the trace', () => {
  assert.ok(listInTerminal({ JH_SLURM_TRACE: '' }).includes(HIDE_CURSOR), 'drawn without the trace')
  const traced = listInTerminal({ JH_SLURM_TRACE: '1' })
  assert.not.ok(traced.includes(HIDE_CURSOR), 'not drawn with the trace')
  assert.match(traced, /\[trace\] .* exit 0: true/)
  assert.match(traced, /run true/)
})

test.run()
