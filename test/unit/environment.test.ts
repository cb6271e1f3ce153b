import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { listEnvironments, resolveEnvironment } from '../../scripts/lib/environment.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { makeRepo, repo } from '../helpers.ts'

const root = makeRepo({ dev_a: 'a.b\n', dev_b: 'c.d\n' })
// Only half an environment: not listed.
fs.mkdirSync(path.join(root, 'config', 'half'))
fs.mkdirSync(path.join(root, 'volumes', 'other_half'))
// Both folders, no launcher settings.
fs.mkdirSync(path.join(root, 'config', 'no_settings'))
fs.mkdirSync(path.join(root, 'volumes', 'no_settings'))

test('environments are the directories present in both config/ and volumes/', () => {
  assert.equal(listEnvironments(repoPaths(root)), ['dev_a', 'dev_b', 'no_settings'])
})

test('a known environment resolves to its directories', () => {
  const env = resolveEnvironment('dev_a', repoPaths(root))
  assert.is(env.configDir, path.join(root, 'config', 'dev_a'))
  assert.is(env.volumesDir, path.join(root, 'volumes', 'dev_a'))
  assert.is(env.devUsersFile, path.join(root, 'config', 'dev_a', 'dev_users'))
})

test('an unknown environment is refused with the list of environments', () => {
  assert.throws(
    () => resolveEnvironment('dev_c', repoPaths(root)),
    /unknown environment "dev_c"; environments: dev_a, dev_b, no_settings/,
  )
})

test('a half-made environment names the folder or file it lacks (exit 2)', () => {
  const cases: Array<[string, RegExp]> = [
    [
      'half',
      /^environment half is incomplete: volumes\/half\/ is missing \(an environment needs both config\/half\/ and volumes\/half\/\)$/,
    ],
    ['other_half', /^environment other_half is incomplete: config\/other_half\/ is missing/],
    [
      'no_settings',
      /^environment no_settings is incomplete: .*config\/no_settings\/launcher\.yaml is missing \(it needs at least hostPort: <port>\)$/,
    ],
  ]
  for (const [name, pattern] of cases) {
    try {
      resolveEnvironment(name, repoPaths(root))
      assert.unreachable(name)
    } catch (error) {
      assert.match((error as Error).message, pattern)
      assert.is((error as { exitCode?: number }).exitCode, 2)
    }
  }
})

test('a bad launcher.yaml is a usage error naming the file and the setting', () => {
  const broken = makeRepo({ dev_x: null })
  const file = path.join(broken, 'config', 'dev_x', 'launcher.yaml')
  const cases: Array<[string, RegExp]> = [
    [
      'hostPrt: 8000\n',
      /launcher\.yaml: unknown setting hostPrt; fix or remove it \(known: hostPort, hubApiHostPort, target\)$/,
    ],
    ['target: stage-dev\n', /launcher\.yaml: hostPort is missing; add hostPort: <port>$/],
    ['hostPort: [\n', /launcher\.yaml: not valid YAML/],
  ]
  for (const [text, pattern] of cases) {
    fs.writeFileSync(file, text)
    try {
      resolveEnvironment('dev_x', repoPaths(broken))
      assert.unreachable(text)
    } catch (error) {
      assert.match((error as Error).message, pattern)
      assert.is((error as { exitCode?: number }).exitCode, 2, text)
    }
  }
  fs.rmSync(broken, { recursive: true, force: true })
})

test('names that could leave config/ or volumes/ are refused before any lookup', () => {
  for (const bad of ['../dev_a', '/etc', 'dev_a/', '..', '.', 'a b', '-rf', 'dev_a\n']) {
    assert.throws(() => resolveEnvironment(bad, repoPaths(root)), /invalid environment name/)
  }
  assert.throws(
    () => resolveEnvironment('', repoPaths(root)),
    /no environment given; environments: dev_a, dev_b, no_settings/,
  )
  assert.throws(() => resolveEnvironment(undefined, repoPaths(root)), /no environment given/)
})

test('every environment of the repository resolves; prod builds its own stage and changes the base pod', () => {
  for (const name of listEnvironments(repo)) {
    const env = resolveEnvironment(name, repo)
    assert.is(env.configDir, path.join(repo.config, name))
    assert.is(env.volumesDir, path.join(repo.volumes, name))
    assert.is(env.names.pod, `jupyterhub-slurm-${name.replaceAll('_', '-')}`)
    assert.ok(Number.isInteger(env.hostPort) && env.hostPort > 0, `${name}: hostPort`)
  }
  const prod = resolveEnvironment('prod', repo)
  const dummy = resolveEnvironment('dev_dummyauth', repo)
  assert.is(prod.target, 'stage-prod')
  assert.is(dummy.target, 'stage-dev')
  // Every pod starts from the base pod; prod's file holds only its changes.
  assert.is(prod.podTemplate, repo.podTemplate)
  assert.is(dummy.podTemplate, repo.podTemplate)
  assert.is(prod.podPatch, path.join(repo.config, 'prod', 'pod.yaml'))
  assert.is(dummy.podPatch, undefined)
})

test.after(() => fs.rmSync(root, { recursive: true, force: true }))
test.run()
