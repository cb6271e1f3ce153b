// The commands as a user types them: bad input, --help, and the bin entry.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import YAML from 'yaml'
import { type CommandSpec, helpText } from '../../scripts/lib/cli.ts'
import { listEnvironments } from '../../scripts/lib/environment.ts'
import { COMMANDS } from '../../scripts/lib/options.ts'
import { repo } from '../helpers.ts'
import { runCli } from '../run-cli.ts'

const environments = listEnvironments(repo)

test('bad input on the command line: one line on stderr, exit 2, nothing created', async () => {
  const before = fs.existsSync(repo.buildTmp) ? fs.readdirSync(repo.buildTmp).sort() : []
  const all = environments.join(', ')
  const cases: Array<[string[], RegExp]> = [
    [['up', '../../etc'], new RegExp(`^error: invalid environment name "..\\/..\\/etc"; environments: ${all}$`)],
    [['up', 'no_such_env'], new RegExp(`^error: unknown environment "no_such_env"; environments: ${all}$`)],
    [['up'], /^error: missing argument <env>/],
    [['up', 'dev_dummyauth', '--target', 'stage-x'], /^error: unknown target "stage-x"/],
    [['manifest', '/etc'], /^error: invalid environment name "\/etc"/],
    [['volumes', 'dev_dummyauth', '--nope'], /^error: Unknown option '--nope' \(see jh-slurm-pod volumes --help\)/],
    [['build-images', '--image', 'other'], /^error: unknown image "other"/],
    [[], /^error: no command given; commands: up, down/],
    [['nope'], /^error: unknown command "nope"; commands: up, down/],
    [['completion', 'fish'], /^error: no completion for shell "fish" \(one of bash, zsh\)/],
  ]
  for (const [argv, pattern] of cases) {
    const run = await runCli(argv)
    assert.is(run.code, 2, `${argv.join(' ')}: ${run.stderr}`)
    assert.is(run.stdout, '')
    assert.is(run.stderr.trim().split('\n').length, 1, run.stderr)
    assert.match(run.stderr.trim(), pattern)
  }
  const after = fs.existsSync(repo.buildTmp) ? fs.readdirSync(repo.buildTmp).sort() : []
  assert.equal(after, before)
})

test("every command's --help is made from its declarations: options, defaults, variables, environments", async () => {
  for (const [name, spec] of Object.entries(COMMANDS) as Array<[string, CommandSpec]>) {
    const run = await runCli([name, '--help'])
    assert.is(run.code, 0, name)
    assert.is(run.stdout, helpText(spec, environments), name)
    assert.match(run.stdout, new RegExp(`^Usage: jh-slurm-pod ${name}`), name)
    for (const [option, o] of Object.entries(spec.options)) {
      const line = run.stdout.split('\n').find((l) => l.includes(`--${option}`)) ?? ''
      assert.ok(line.includes(o.description), `${name} --${option}`)
      if (o.default !== undefined) assert.ok(line.includes(`default ${o.default}`), `${name} --${option} default`)
      if (o.defaultNote) assert.ok(line.includes(o.defaultNote), `${name} --${option} default`)
      if (o.variable) assert.ok(line.includes(o.variable), `${name} --${option} variable`)
    }
    const takesEnv = (spec.positionals ?? []).some((p) => p.includes('<env>'))
    assert.is(run.stdout.includes(`Environments: ${environments.join(', ')}\n`), takesEnv, name)
  }
  const overview = await runCli(['--help'])
  for (const name of Object.keys(COMMANDS)) assert.match(overview.stdout, new RegExp(`\\n  ${name} `))
})

test('the bin entry runs a command; manifest > file gives only YAML, the notice goes to stderr', () => {
  const run = spawnSync(
    process.execPath,
    [path.join(repo.root, 'bin', 'jh-slurm-pod.mjs'), 'manifest', 'dev_dummyauth'],
    {
      encoding: 'utf8',
      cwd: '/',
    },
  )
  assert.is(run.status, 0, run.stderr)
  const docs = YAML.parseAllDocuments(run.stdout).map((d) => d.toJS())
  assert.equal(
    docs.map((d) => d.kind),
    ['ConfigMap', 'ConfigMap', 'Secret', 'Secret', 'Secret', 'Pod'],
  )
})

test.run()
