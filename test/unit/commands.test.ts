// The commands as a user types them: bad input, --help, and the bin entry.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import YAML from 'yaml'
import { type CommandSpec, helpText } from '../../scripts/lib/cli.ts'
import { environmentSummaries } from '../../scripts/lib/command.ts'
import { listEnvironments } from '../../scripts/lib/environment.ts'
import { COMMANDS } from '../../scripts/lib/options.ts'
import { repo, tempDir, useFakePodman } from '../helpers.ts'
import { resourceNames } from '../../scripts/lib/names.ts'
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
  const summaries = await environmentSummaries(repo)
  // What the environments' settings and templates say: prod builds stage-prod, and claims no Slurm volume.
  const prod = summaries.find((e) => e.name === 'prod')
  assert.equal(prod, { name: 'prod', target: 'stage-prod', volumes: ['jupyterhub-root-prod'] })
  assert.equal(summaries.find((e) => e.name === 'dev_dummyauth')?.volumes, [
    'jupyterhub-root-dev-dummyauth',
    'slurm-root-dev-dummyauth',
    'slurm-accounting-root-dev-dummyauth',
    'slurm-homes-dev-dummyauth',
  ])
  for (const [name, spec] of Object.entries(COMMANDS) as Array<[string, CommandSpec]>) {
    const run = await runCli([name, '--help'])
    assert.is(run.code, 0, name)
    assert.is(run.stdout, helpText(spec, summaries), name)
    assert.match(run.stdout, new RegExp(`^Usage: jh-slurm-pod ${name}`), name)
    for (const [option, o] of Object.entries(spec.options)) {
      const line = run.stdout.split('\n').find((l) => l.includes(`--${option}`)) ?? ''
      assert.ok(line.includes(o.description), `${name} --${option}`)
      if (o.default !== undefined) assert.ok(line.includes(`default ${o.default}`), `${name} --${option} default`)
      if (o.defaultNote) assert.ok(line.includes(o.defaultNote), `${name} --${option} default`)
      if (o.variable) assert.ok(line.includes(o.variable), `${name} --${option} variable`)
    }
    const takesEnv = (spec.positionals ?? []).some((p) => p.includes('<env>'))
    assert.is(run.stdout.includes('\nEnvironments (default stage; volumes'), takesEnv, name)
    if (takesEnv) for (const env of summaries) assert.ok(run.stdout.includes(`  ${env.name} `), `${name}: ${env.name}`)
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
    // The hub's pod, then its two Slurm nodes (the default slurmNodes).
    ['ConfigMap', 'ConfigMap', 'ConfigMap', 'Secret', 'Secret', 'Secret', 'Secret', 'Secret', 'Pod', 'Pod', 'Pod'],
  )
})

/** Runs the command with process environment variables set for it only. */
async function withVars(vars: Record<string, string>, argv: string[]) {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]))
  Object.assign(process.env, vars)
  try {
    return await runCli(argv)
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
}

test('one answer per kind of mistake: a bad settings file, key or variable is exit 2 with one line naming it', async () => {
  const dir = tempDir()
  const file = (name: string, text: string) => {
    fs.writeFileSync(path.join(dir, name), text)
    return path.join(dir, name)
  }
  const misspelt = file('misspelt.yaml', 'oidcServr: x\n')
  const unused = file('unused.yaml', 'oidcServer: http://issuer.test\n')
  const cases: Array<[Record<string, string>, string[], RegExp]> = [
    [
      { JH_SLURM_DEPLOY_CONFIG: misspelt },
      ['manifest', 'dev_dummyauth'],
      /misspelt\.yaml \(JH_SLURM_DEPLOY_CONFIG\): unknown deploy setting oidcServr; fix or remove it/,
    ],
    [
      {},
      ['manifest', 'dev_dummyauth', '--deploy-config', unused],
      /unused\.yaml \(--deploy-config\): oidcServer is not a setting of this environment; remove it/,
    ],
    [
      { JH_SLURM_DEPLOY_CONFIG: path.join(dir, 'gone.yaml') },
      ['manifest', 'dev_dummyauth'],
      /cannot read deploy settings given with JH_SLURM_DEPLOY_CONFIG .*gone\.yaml: no such file$/,
    ],
    [
      { JH_SLURM_DEPLOY_CONFIG: file('list.yaml', '- a\n') },
      ['manifest', 'dev_dummyauth'],
      /list\.yaml \(JH_SLURM_DEPLOY_CONFIG\): expected a mapping/,
    ],
    [
      {},
      [
        'manifest',
        'prod',
        '--ssh-client-key',
        file('key', 'hello\n'),
        '--ssh-known-hosts',
        file('kh', 'h ssh-ed25519 AAAA\n'),
      ],
      /key \(--ssh-client-key \(JH_SLURM_SSH_CLIENT_KEY\)\) is not an SSH private key/,
    ],
    [
      {},
      ['up', 'prod'],
      /prod runs its jobs on a Slurm cluster outside the pod: give the hub's SSH key with --ssh-client-key FILE/,
    ],
    [
      { JUPYTERUSER_UID: 'abc' },
      ['up', 'dev_dummyauth'],
      /^error: JUPYTERUSER_UID must be a number \(a uid or gid\), got "abc"; fix or unset it$/,
    ],
    [{}, ['up', 'dev_dummyauth', '--port', '70000'], /--port: a port must be a whole number from 1 to 65535/],
    [{}, ['play', path.join(dir, 'none.yaml')], /manifest .*none\.yaml not found/],
    [
      {},
      ['play', file('two-pods.yaml', 'kind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b}\n')],
      /two-pods\.yaml has 2 pods .* give --network NAME$/,
    ],
  ]
  for (const [vars, argv, pattern] of cases) {
    const run = await withVars(vars, argv)
    assert.is(run.code, 2, `${argv.join(' ')}: ${run.stderr}`)
    assert.is(run.stdout, '', argv.join(' '))
    const lines = run.stderr.trim().split('\n')
    assert.is(lines.length, 1, run.stderr)
    assert.match(lines[0] ?? '', pattern)
    assert.not.match(run.stderr, /ENOENT|EACCES|EISDIR/)
  }
  fs.rmSync(dir, { recursive: true })
})

test('keygen --out DIR refuses to replace keys without --force', async () => {
  const dir = path.join(tempDir(), 'keys')
  const first = await runCli(['keygen', '--out', dir])
  assert.is(first.code, 0, first.stderr)
  const before = fs.readFileSync(path.join(dir, 'ssh_client_key'), 'utf8')
  const again = await runCli(['keygen', '--out', dir])
  assert.is(again.code, 2)
  assert.match(
    again.stderr.trim(),
    /^error: .*ssh_client_key exists \(and 3 more key files\); pass --force to replace the keys in /,
  )
  assert.is(fs.readFileSync(path.join(dir, 'ssh_client_key'), 'utf8'), before)
  const forced = await runCli(['keygen', '--out', dir, '--force'])
  assert.is(forced.code, 0)
  assert.is.not(fs.readFileSync(path.join(dir, 'ssh_client_key'), 'utf8'), before)
  assert.is(fs.statSync(path.join(dir, 'ssh_client_key')).mode & 0o777, 0o600)
  fs.rmSync(path.dirname(dir), { recursive: true })
})

test('manifest prod with its example values: valid YAML on stdout, one warning naming them on stderr', async () => {
  const run = await runCli(['manifest', 'prod'])
  assert.is(run.code, 0, run.stderr)
  const docs = YAML.parseAllDocuments(run.stdout).map((d) => d.toJS())
  assert.equal(
    docs.map((d) => d.kind),
    ['ConfigMap', 'ConfigMap', 'Pod'],
  )
  const warnings = run.stderr.split('\n').filter((l) => l.startsWith('warning:'))
  assert.equal(warnings, [
    'warning: prod still has example values: sshHostname=login.cluster.example.org, hubConnectUrl=http://jupyter.example.org:8083 (lay your own over them with --deploy-config FILE); images under localhost/ (give --registry PREFIX)',
  ])
  const settings = path.join(tempDir(), 'site.yaml')
  fs.writeFileSync(settings, 'sshHostname: login.hpc.site\nhubConnectUrl: http://hub.hpc.site:8083\n')
  const real = await runCli(['manifest', 'prod', '--deploy-config', settings, '--registry', 'registry.hpc.site/brics'])
  assert.is(real.code, 0, real.stderr)
  assert.not.match(real.stderr, /warning/)
  fs.rmSync(path.dirname(settings), { recursive: true })
})

test('completion: bash completes commands, options and environment names from the declarations', () => {
  const script = spawnSync(process.execPath, [path.join(repo.root, 'bin', 'jh-slurm-pod.mjs'), 'completion', 'bash'], {
    encoding: 'utf8',
  }).stdout
  const complete = (...words: string[]) =>
    spawnSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _jh_slurm_pod; echo "\${COMPREPLY[*]}"`,
      ],
      { encoding: 'utf8' },
    ).stdout.trim()
  assert.is(complete('jh-slurm-pod', 'ma'), 'manifest')
  const devD = environments.filter((e) => e.startsWith('dev_d'))
  assert.ok(devD.length > 1, 'environments to complete')
  assert.is(complete('jh-slurm-pod', 'up', 'dev_d'), devD.join(' '))
  assert.is(complete('jh-slurm-pod', 'up', '--keep'), '--keep-build-data')
  assert.is(complete('jh-slurm-pod', 'down', '--'), '--all --help')
  assert.is(complete('jh-slurm-pod', 'completion', ''), 'bash zsh')
  // After an option that takes a file, the shell's file names.
  const dir = tempDir()
  for (const name of ['site.yaml', 'site.yml', 'other']) fs.writeFileSync(path.join(dir, name), '')
  const files = complete('jh-slurm-pod', 'manifest', '-o', path.join(dir, 'site')).split(' ').sort()
  assert.equal(files, [path.join(dir, 'site.yaml'), path.join(dir, 'site.yml')])
  fs.rmSync(dir, { recursive: true })
  const zsh = spawnSync(process.execPath, [path.join(repo.root, 'bin', 'jh-slurm-pod.mjs'), 'completion', 'zsh'], {
    encoding: 'utf8',
  }).stdout
  assert.match(zsh, /^#compdef jh-slurm-pod\n/)
  // zsh fills $words itself: the script must not declare its own.
  assert.not.match(zsh, /local -a [^\n]*\bwords\b/)
  for (const env of environments) assert.ok(zsh.includes(env), env)
})

test('status --json writes only JSON to stdout', async () => {
  const names = resourceNames('dev_dummyauth')
  const fake = useFakePodman({ pods: [names.pod], volumes: [names.volumes.jupyterhub] })
  try {
    const run = await runCli(['status', '--json'])
    assert.is(run.code, 0, run.stderr)
    assert.is(run.stderr, '')
    const { environments: found } = JSON.parse(run.stdout) as { environments: Array<{ environment: string }> }
    assert.equal(
      found.map((e) => e.environment),
      ['dev_dummyauth'],
    )
  } finally {
    fake.restore()
  }
})

test.run()
