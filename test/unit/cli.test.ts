import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { helpText, parseCommandLine } from '../../scripts/lib/cli.ts'
import { UsageError } from '../../scripts/lib/errors.ts'
import { buildSettings } from '../../scripts/lib/images.ts'
import { COMMANDS } from '../../scripts/lib/options.ts'

const upCli = COMMANDS.up
const buildCli = COMMANDS['build-images']

test('positionals and options are parsed; env variables give defaults', () => {
  const { values, positionals } = parseCommandLine(
    upCli,
    ['dev_dummyauth', '--tag', 't1', '--hub-build-arg', 'A=1', '--hub-build-arg', 'B=2'],
    {
      JH_SLURM_BUILD_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt',
      JH_SLURM_KEEP_BUILD_DATA: '1',
    },
  )
  assert.equal(positionals, ['dev_dummyauth'])
  assert.is(values.tag, 't1')
  assert.equal(values['hub-build-arg'], ['A=1', 'B=2'])
  assert.equal(values['slurm-build-arg'], [])
  assert.is(values['ca-bundle'], '/etc/ssl/certs/ca-certificates.crt')
  assert.is(values['keep-build-data'], true)
})

test('usage mistakes are one-line UsageErrors (exit 2)', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /missing argument <env>/],
    [['a', 'b'], /unexpected argument "b"/],
    [['a', '--nope'], /Unknown option '--nope'/],
    [['a', '--tag'], /argument missing|--tag/],
  ]
  for (const [argv, pattern] of cases) {
    try {
      parseCommandLine(upCli, argv, {})
      assert.unreachable(argv.join(' '))
    } catch (error) {
      assert.instance(error, UsageError)
      assert.is((error as UsageError).exitCode, 2)
      assert.match((error as Error).message, pattern)
      assert.not.match((error as Error).message, /\n/)
    }
  }
})

test('help lists every option with its environment variable', () => {
  const text = helpText(upCli)
  assert.match(text, /^Usage: jh-slurm-pod up <env> \[options\]\n {3}or: npm run up -- <env> \[options\]/)
  for (const flag of [
    '--target STAGE',
    '--tag TAG',
    '--registry PREFIX',
    '--ca-bundle PATH',
    '--keep-build-data',
    '--hub-build-arg KEY=VALUE',
    '--help',
  ]) {
    assert.ok(text.includes(flag), flag)
  }
  assert.match(text, /variable JH_SLURM_BUILD_CA_BUNDLE/)
})

test('build settings check the target, tag and CA bundle', () => {
  const parse = (argv: string[]) => buildSettings(parseCommandLine(buildCli, argv, {}).values)
  assert.is(parse([]).target, 'stage-dev')
  assert.is(parse(['--target', 'stage-prod']).target, 'stage-prod')
  assert.throws(() => parse(['--target', 'stage-x']), /unknown target "stage-x"/)
  assert.throws(() => parse(['--tag', 'bad tag']), /invalid image tag/)
  assert.throws(
    () => parse(['--ca-bundle', '/nonexistent/ca.crt']),
    /CA bundle \/nonexistent\/ca.crt \(--ca-bundle or JH_SLURM_BUILD_CA_BUNDLE\) is not a readable file; give a PEM file/,
  )
  assert.is(parse([]).stageJobs, 2)
  assert.is(parse(['--stage-jobs', '1']).stageJobs, 1)
  assert.is(buildSettings(parseCommandLine(buildCli, [], { JH_SLURM_STAGE_JOBS: '3' }).values).stageJobs, 3)
  for (const bad of ['0', '1.5', 'two', '65']) {
    assert.throws(() => parse(['--stage-jobs', bad]), new RegExp(`invalid --stage-jobs "${bad.replace('.', '\\.')}"`))
  }
})

test.run()
