import { spawnSync } from 'node:child_process'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { repoRoot } from '../../scripts/lib/paths.ts'

// JH_SLURM_TRACE is read when exec.ts loads, so each case runs in a child process.
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

test('without JH_SLURM_TRACE (or with it empty) nothing is printed', () => {
  assert.is(run({ JH_SLURM_TRACE: '' }), '')
})

test.run()
