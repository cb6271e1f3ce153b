// One rule for every on/off variable (scripts/lib/on-off.ts), wherever one is read.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkGlobalOnOff, onOff, parseCommandLine } from '../../scripts/lib/cli.ts'
import { debugEnabled, UsageError } from '../../scripts/lib/errors.ts'
import { tracing } from '../../scripts/lib/exec.ts'
import { parseOnOff } from '../../scripts/lib/on-off.ts'
import { COMMANDS } from '../../scripts/lib/options.ts'
import { volumeFill } from '../../scripts/lib/volumes.ts'
import { runCli } from '../run-cli.ts'

const OFF = [undefined, '', '0', 'false', 'no', 'off', 'False', 'NO', ' off ']
const ON = ['1', 'true', 'yes', 'on', 'TRUE', 'Yes', ' on']
const NEITHER = ['2', 'maybe', 'enabled', 'y', 'n', '-1', 'true1']

test('0, false, no, off and empty are off; 1, true, yes, on are on; anything else is neither', () => {
  for (const value of OFF) assert.is(parseOnOff(value), false, String(value))
  for (const value of ON) assert.is(parseOnOff(value), true, value)
  for (const value of NEITHER) assert.is(parseOnOff(value), undefined, value)
})

test('a value that is neither is a usage error of one line naming the variable', () => {
  for (const value of NEITHER) {
    try {
      onOff('JH_SLURM_SOMETHING', { JH_SLURM_SOMETHING: value })
      assert.unreachable(value)
    } catch (error) {
      assert.instance(error, UsageError)
      const message = (error as UsageError).message
      assert.match(message, /^JH_SLURM_SOMETHING=".*" is neither on nor off; set it to 1, true, yes or on/)
      assert.not.match(message, /\n/)
      assert.is((error as UsageError).exitCode, 2)
    }
  }
  assert.is(onOff('UNSET_ONE', {}), false, 'unset is off')
})

/** Runs `fn` with variables set in this process, then puts them back. */
function withVars<T>(vars: Record<string, string>, fn: () => T): T {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try {
    return fn()
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

test('every reader follows it: JH_SLURM_TRACE, JH_SLURM_DEBUG, JH_SLURM_VOLUME_IMPORT_VIA_MACHINE, boolean options', () => {
  for (const [value, on] of [
    ['0', false],
    ['off', false],
    ['', false],
    ['1', true],
    ['yes', true],
  ] as const) {
    assert.is(
      withVars({ JH_SLURM_TRACE: value }, () => tracing()),
      on,
      `JH_SLURM_TRACE=${value}`,
    )
    assert.is(
      withVars({ JH_SLURM_DEBUG: value }, () => debugEnabled()),
      on,
      `JH_SLURM_DEBUG=${value}`,
    )
    const fill = volumeFill(false, undefined, { JH_SLURM_VOLUME_IMPORT_VIA_MACHINE: value })
    assert.is(fill.via === 'machine', on, `JH_SLURM_VOLUME_IMPORT_VIA_MACHINE=${value}`)
    const { values } = parseCommandLine(COMMANDS.up, ['dev_dummyauth'], { JH_SLURM_KEEP_BUILD_DATA: value })
    assert.is(values['keep-build-data'], on, `JH_SLURM_KEEP_BUILD_DATA=${value}`)
  }
  assert.is(
    parseCommandLine(COMMANDS.up, ['dev_dummyauth', '--keep-build-data'], { JH_SLURM_KEEP_BUILD_DATA: '0' }).values[
      'keep-build-data'
    ],
    true,
    'the option wins over its variable',
  )
  assert.throws(
    () => parseCommandLine(COMMANDS.up, ['dev_dummyauth'], { JH_SLURM_KEEP_BUILD_DATA: 'sure' }),
    /^JH_SLURM_KEEP_BUILD_DATA="sure" is neither on nor off/,
  )
  assert.throws(
    () => volumeFill(false, undefined, { JH_SLURM_VOLUME_IMPORT_VIA_MACHINE: 'y' }),
    /JH_SLURM_VOLUME_IMPORT_VIA_MACHINE="y" is neither/,
  )
  assert.is(
    withVars({ JH_SLURM_DEBUG: 'verbose' }, () => debugEnabled()),
    false,
    'reporting an error never fails on it',
  )
})

test('a command refuses a mistyped JH_SLURM_TRACE or JH_SLURM_DEBUG before it runs: exit 2, one line', async () => {
  checkGlobalOnOff({ JH_SLURM_TRACE: 'off', JH_SLURM_DEBUG: '1' })
  for (const name of ['JH_SLURM_TRACE', 'JH_SLURM_DEBUG']) {
    const run = await withVars({ [name]: 'maybe' }, () => runCli(['status']))
    assert.is(run.code, 2, name)
    assert.is(run.stdout, '')
    assert.is(
      run.stderr,
      `error: ${name}="maybe" is neither on nor off; set it to 1, true, yes or on, or to 0, false, no, off or empty\n`,
    )
  }
})

test.run()
