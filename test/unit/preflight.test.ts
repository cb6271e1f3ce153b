import net from 'node:net'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { checkPodman, compareVersions, podmanCommand } from '../../scripts/lib/podman.ts'
import { checkPortFree, checkTool, findExecutable } from '../../scripts/lib/preflight.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { type FakePodman, useFakePodman } from '../helpers.ts'

let fake: FakePodman | undefined
test.after.each(() => {
  fake?.restore()
  fake = undefined
  delete process.env.JH_SLURM_PODMAN
})

test('podman versions compare numerically', () => {
  assert.is(compareVersions('4.10.0', '4.4.0'), 1)
  assert.is(compareVersions('4.3.1', '4.4.0'), -1)
  assert.is(compareVersions('5.4.2-dev', '5.4.2'), 0)
})

test('podman older than the minimum is refused with the reason', async () => {
  fake = useFakePodman({ version: '4.3.1' })
  try {
    await checkPodman()
    assert.unreachable('podman 4.3.1 accepted')
  } catch (error) {
    assert.match((error as Error).message, /podman 4\.3\.1 is too old \(need 4\.4\.0 or newer/)
  }
  fake.restore()
  fake = useFakePodman({ version: '5.4.2' })
  assert.is(await checkPodman(), '5.4.2')
})

test('a missing podman says how to get one', async () => {
  process.env.JH_SLURM_PODMAN = '/nonexistent/podman --flag'
  assert.equal(podmanCommand(), ['/nonexistent/podman', '--flag'])
  try {
    await checkPodman()
    assert.unreachable('missing podman accepted')
  } catch (error) {
    assert.match(
      (error as Error).message,
      /podman is not usable \(\/nonexistent\/podman --flag: .*\); install podman 4\.4\.0 or newer, or set JH_SLURM_PODMAN/,
    )
  }
})

test('a missing tool is named with how to install it', async () => {
  await checkTool('git', 'install git')
  try {
    await checkTool('no-such-tool-here', 'install it with apt-get')
    assert.unreachable('missing tool accepted')
  } catch (error) {
    assert.is((error as Error).message, 'no-such-tool-here is not installed; install it with apt-get')
  }
})

test('a tool is found on PATH only as an executable file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jh-path-'))
  fs.mkdirSync(path.join(dir, 'a', 'tool'), { recursive: true }) // a directory of that name
  fs.mkdirSync(path.join(dir, 'b'))
  fs.writeFileSync(path.join(dir, 'b', 'tool'), '') // not executable
  fs.mkdirSync(path.join(dir, 'c'))
  fs.writeFileSync(path.join(dir, 'c', 'tool'), '#!/bin/sh\n', { mode: 0o755 })
  const searchPath = ['a', 'b', 'c'].map((d) => path.join(dir, d)).join(':')
  assert.is(findExecutable('tool', searchPath), path.join(dir, 'c', 'tool'))
  assert.is(findExecutable('tool', searchPath.split(':').slice(0, 2).join(':')), undefined)
  assert.is(findExecutable(path.join(dir, 'c', 'tool'), ''), path.join(dir, 'c', 'tool'))
  fs.rmSync(dir, { recursive: true })
})

test('a taken hub port is refused with what to do', async () => {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as net.AddressInfo).port
  try {
    await checkPortFree(port, '127.0.0.1')
    assert.unreachable('taken port accepted')
  } catch (error) {
    assert.match((error as Error).message, new RegExp(`127\\.0\\.0\\.1:${port} is already in use`))
  } finally {
    server.close()
  }
  await checkPortFree(port, '127.0.0.1')
})

test('bad input on the command line: one line on stderr, exit 2, nothing created', () => {
  const buildTmp = repoPaths().buildTmp
  const before = fs.existsSync(buildTmp) ? fs.readdirSync(buildTmp).sort() : []
  const cases: Array<[string, string[], RegExp]> = [
    [
      'up',
      ['../../etc'],
      /^error: invalid environment name "..\/..\/etc"; environments: dev_dummyauth, dev_dummyauth_extslurm, dev_realauth, prod$/,
    ],
    [
      'up',
      ['no_such_env'],
      /^error: unknown environment "no_such_env"; environments: dev_dummyauth, dev_dummyauth_extslurm, dev_realauth, prod$/,
    ],
    ['up', [], /^error: missing argument <env>/],
    ['up', ['dev_dummyauth', '--target', 'stage-x'], /^error: unknown target "stage-x"/],
    ['manifest', ['/etc'], /^error: invalid environment name "\/etc"/],
    ['volumes', ['dev_dummyauth', '--nope'], /^error: Unknown option '--nope'/],
    ['build-images', ['--image', 'other'], /^error: unknown image "other"/],
  ]
  for (const [script, args, pattern] of cases) {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'scripts', `${script}.ts`), ...args],
      { encoding: 'utf8' },
    )
    assert.is(run.status, 2, `${script} ${args.join(' ')}: ${run.stderr}`)
    assert.is(run.stdout, '')
    assert.is(run.stderr.trim().split('\n').length, 1, run.stderr)
    assert.match(run.stderr.trim(), pattern)
  }
  const after = fs.existsSync(buildTmp) ? fs.readdirSync(buildTmp).sort() : []
  assert.equal(after, before)
})

test('--help prints usage and exits 0 for every step', () => {
  for (const script of ['up', 'down', 'clone', 'keygen', 'build-images', 'volumes', 'manifest', 'play']) {
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'scripts', `${script}.ts`), '--help'],
      { encoding: 'utf8' },
    )
    assert.is(run.status, 0, script)
    assert.match(run.stdout, new RegExp(`^Usage: npm run ${script} --`), script)
  }
})

test.run()
