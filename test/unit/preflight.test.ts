import net from 'node:net'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  checkPodman,
  compareVersions,
  podman,
  podmanCommand,
  probePodman,
  withPodman,
} from '../../scripts/lib/podman.ts'
import { checkPortFree, checkTool, findExecutable } from '../../scripts/lib/preflight.ts'
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

test('a remote client is told apart by the server it reports; an old service is refused', async () => {
  fake = useFakePodman({ version: '5.4.2' })
  assert.equal(await probePodman(), { version: '5.4.2', remote: false })
  fake.restore()
  fake = useFakePodman({ version: '5.4.2', server: '5.0.1' })
  assert.equal(await probePodman(), { version: '5.0.1', remote: true })
  fake.restore()
  fake = useFakePodman({ version: '5.4.2', server: '4.3.1' })
  await probePodman().then(
    () => assert.unreachable('podman service 4.3.1 accepted'),
    (error: Error) =>
      assert.match(error.message, /^the podman service \(server side of the remote client\) 4\.3\.1 is too old/),
  )
})

test('a command the remote client lacks is named in one line', async () => {
  fake = useFakePodman({ volumes: ['v'], server: '5.4.2' })
  await podman(['volume', 'import', 'v', '-'], { input: 'x' }).then(
    () => assert.unreachable('volume import through the remote client accepted'),
    (error: Error) =>
      assert.is(
        error.message,
        `podman volume import is not offered by podman's remote client (JH_SLURM_PODMAN=podman); see docs/remote-podman.md`,
      ),
  )
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

test('work beside the version check: a missing podman is reported, not the failure it caused', async () => {
  process.env.JH_SLURM_PODMAN = '/nonexistent/podman'
  await withPodman(() => Promise.reject(new Error('listing failed'))).then(
    () => assert.unreachable('missing podman accepted'),
    (error: Error) => assert.match(error.message, /^podman is not usable/),
  )
  fake = useFakePodman({ version: '5.4.2' })
  assert.is(await withPodman(async () => 'listed'), 'listed')
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

test.run()
