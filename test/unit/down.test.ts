import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { UsageError } from '../../scripts/lib/errors.ts'
import { chooseTargets, environmentsUpNow, teardown } from '../../scripts/lib/teardown.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { deadBuildDirs, makeBuildDir, markKept, removeDeadBuildDirs } from '../../scripts/lib/build-dirs.ts'
import { LEGACY, LEGACY_NAMES, nadirServerPodName, resourceNames } from '../../scripts/lib/names.ts'
import { type FakePodman, makeRepo, tempDir, useFakePodman } from '../helpers.ts'

let fake: FakePodman | undefined
const dummy = resourceNames('dev_dummyauth')
const realauth = resourceNames('dev_realauth')
const known = ['dev_dummyauth', 'dev_realauth']
// A root of its own: teardown removes the environments' password files under
// <root>/_build_tmp, which in the repository belong to environments really up.
const root = tempDir('jh-slurm-down-')

test.after.each(() => {
  fake?.restore()
  fake = undefined
})
test.after(() => fs.rmSync(root, { recursive: true, force: true }))

test('one environment is removed by name: no listing of pods or volumes, each call passing over what is gone', async () => {
  fake = useFakePodman({
    pods: [dummy.pod, realauth.pod],
    volumes: [dummy.volumes.slurm, dummy.secrets.hostKey, realauth.volumes.slurm],
    secrets: [dummy.secrets.clientKey, dummy.secrets.devLogin, realauth.secrets.clientKey],
  })
  const lines: string[] = []
  const removed = await teardown(repoPaths(root), [dummy], { onLine: (l) => lines.push(l) })
  assert.equal(lines, [
    `removed pod ${dummy.pod}`,
    `removed volume ${dummy.volumes.slurm}`,
    `removed secret ${dummy.secrets.clientKey}`,
    `removed secret ${dummy.secrets.devLogin}`,
    `removed volume ${dummy.secrets.hostKey}`,
  ])
  assert.is(removed.length, 5)
  const calls = fake.calls()
  // Only the node pods are listed, by their names (there can be up to eight).
  const listings = calls.filter((c) => c.join(' ').match(/^(pod ps|volume ls|version)/)).map((c) => c.join(' '))
  assert.equal(listings, [`pod ps --format json --filter name=^${dummy.pod}-node-`])
  // dev_realauth_nadir's stand-in Nadir server too, wherever there is one; each pod removed on its own (at once).
  const podCalls = calls.filter((c) => c[0] === 'pod' && c[1] !== 'ps').map((c) => c.join(' '))
  assert.is(podCalls[0], `pod stop --ignore --time 10 ${dummy.pod} ${nadirServerPodName(dummy)}`)
  assert.equal(podCalls.slice(1).sort(), [
    `pod rm --force --ignore --time 10 ${dummy.pod}`,
    `pod rm --force --ignore --time 10 ${nadirServerPodName(dummy)}`,
  ])
  assert.equal(
    calls.find((c) => c[0] === 'volume'),
    ['volume', 'rm', '--force', ...Object.values(dummy.volumes), ...Object.values(dummy.secrets)],
  )
  assert.equal(
    calls.find((c) => c.join(' ').startsWith('secret rm')),
    ['secret', 'rm', dummy.secrets.clientKey, dummy.secrets.devLogin],
  )
  const { pods, volumes, secrets } = fake.resources()
  assert.equal(
    { pods, volumes, secrets },
    { pods: [realauth.pod], volumes: [realauth.volumes.slurm], secrets: [realauth.secrets.clientKey] },
  )
  assert.equal(await teardown(repoPaths(root), [dummy]), [], 'a second time removes nothing')
})

test('several environments are removed from a listing, in three batched calls', async () => {
  fake = useFakePodman({
    pods: [dummy.pod],
    volumes: [dummy.volumes.slurm, realauth.volumes.jupyterhub],
    secrets: [realauth.secrets.clientKey],
  })
  const lines: string[] = []
  await teardown(repoPaths(root), [dummy, realauth], { onLine: (l) => lines.push(l) })
  assert.equal(lines, [
    `removed pod ${dummy.pod}`,
    `removed volume ${dummy.volumes.slurm}`,
    `removed volume ${realauth.volumes.jupyterhub}`,
    `removed secret ${realauth.secrets.clientKey}`,
  ])
  const [stop, pod, ...rest] = fake.calls().filter((c) => c.includes('rm') || c.includes('stop'))
  assert.equal(stop, ['pod', 'stop', '--ignore', '--time', '10', dummy.pod])
  assert.equal(pod, ['pod', 'rm', '--force', '--ignore', '--time', '10', dummy.pod])
  assert.equal(rest.sort(), [
    ['secret', 'rm', realauth.secrets.clientKey],
    ['volume', 'rm', '--force', dummy.volumes.slurm, realauth.volumes.jupyterhub],
  ])
  assert.equal(fake.resources().volumes, [])
})

test('a removal by name that falls short is finished from a listing, and all of it reported', async () => {
  fake = useFakePodman({ pods: [dummy.pod], volumes: [dummy.volumes.slurm], secrets: [dummy.secrets.clientKey] })
  // Fails the call by name only (the listing's call names only what exists).
  process.env.FAKE_PODMAN_FAIL = `^volume rm .*${Object.values(dummy.secrets).at(-1)}$`
  const lines: string[] = []
  try {
    await teardown(repoPaths(root), [dummy], { onLine: (l) => lines.push(l) })
  } finally {
    delete process.env.FAKE_PODMAN_FAIL
  }
  assert.equal(lines, [
    `removed pod ${dummy.pod}`,
    `removed secret ${dummy.secrets.clientKey}`,
    `removed volume ${dummy.volumes.slurm}`,
  ])
  assert.equal(fake.resources().volumes, [])
})

test('a missing podman is named when removing by name', async () => {
  process.env.JH_SLURM_PODMAN = '/nonexistent/podman'
  try {
    await teardown(repoPaths(root), [dummy])
    assert.unreachable('missing podman accepted')
  } catch (error) {
    assert.match((error as Error).message, /^podman is not usable \(\/nonexistent\/podman: /)
  } finally {
    delete process.env.JH_SLURM_PODMAN
  }
})

test('down with nothing up removes nothing and is idempotent', async () => {
  fake = useFakePodman({})
  assert.equal(await teardown(repoPaths(root), [dummy, LEGACY_NAMES]), [])
  assert.equal(await teardown(repoPaths(root), [dummy, LEGACY_NAMES]), [])
  assert.not.ok(fake.calls().some((c) => c.includes('rm')))
})

test('environments up: each known one with anything left, labelled pods, and the old fixed names', async () => {
  fake = useFakePodman({
    pods: ['jupyterhub-slurm', 'jupyterhub-slurm-renamed-env'],
    podLabels: {
      'jupyterhub-slurm-renamed-env': { 'jh-slurm-pod/environment': 'renamed_env', 'jh-slurm-pod/host-port': '8005' },
    },
    volumes: ['jupyterhub_root', realauth.volumes.jupyterhub],
    secrets: [],
  })
  const { up } = await environmentsUpNow(repoPaths(makeRepo({ dev_dummyauth: '', dev_realauth: '' })))
  assert.equal(
    up.map((e) => e.names.env),
    ['dev_realauth', 'renamed_env', LEGACY],
  )
  assert.equal(up[0]?.resources, [{ kind: 'volume', name: realauth.volumes.jupyterhub }])
  assert.is(up[1]?.hostPort, 8005)
  assert.equal(
    up[2]?.resources.map((r) => r.name),
    ['jupyterhub-slurm', 'jupyterhub_root'],
  )
})

test('down picks its targets: the one up, a named one, all; several up without a terminal is a usage error', async () => {
  const a = { names: dummy, resources: [{ kind: 'pod' as const, name: dummy.pod }] }
  const b = { names: realauth, resources: [{ kind: 'pod' as const, name: realauth.pod }] }
  assert.equal(await chooseTargets([a], { all: false }, known, false), [a])
  assert.equal(await chooseTargets([], { all: false }, known, false), [])
  assert.equal(await chooseTargets([a, b], { all: true }, known, false), [a, b])
  assert.equal(await chooseTargets([a, b], { env: 'dev_realauth', all: false }, known, false), [b])
  assert.equal(await chooseTargets([a], { env: 'dev_realauth', all: false }, known, false), [], 'named, not up: none')
  await chooseTargets([a, b], { all: false }, known, false).then(
    () => assert.unreachable(),
    (e: Error & { exitCode: number }) => {
      assert.match(
        e.message,
        /several environments are up \(dev_dummyauth, dev_realauth\); name one \(jh-slurm-pod down <env>\) or remove them all \(jh-slurm-pod down --all\)/,
      )
      assert.is(e.exitCode, 2)
    },
  )
  await chooseTargets([a], { env: 'nope', all: false }, known, false).then(
    () => assert.unreachable(),
    (e: Error & { exitCode: number }) => {
      assert.match(e.message, /unknown environment "nope"/)
      assert.instance(e, UsageError)
      assert.is(e.exitCode, 2)
    },
  )
  await chooseTargets([a], { env: '../x', all: false }, known, false).then(
    () => assert.unreachable(),
    (e: Error) => assert.match(e.message, /invalid environment name/),
  )
})

test("a failing removal is reported with podman's message", async () => {
  fake = useFakePodman({ pods: [dummy.pod] })
  process.env.FAKE_PODMAN_FAIL = '^pod rm'
  await teardown(repoPaths(root), [dummy]).then(
    () => assert.unreachable('teardown ignored a failure'),
    (error: Error) => assert.match(error.message, /pod rm .* failed \(exit 125\): Error: forced failure/),
  )
})

test("build directories: a dead run's goes, a kept one and a live run's stay", () => {
  const root = makeRepo({ dev_a: '' })
  const live = makeBuildDir(repoPaths(root), 'dev_a')
  const kept = makeBuildDir(repoPaths(root), 'dev_a')
  markKept(kept)
  const dead = makeBuildDir(repoPaths(root), 'dev_a')
  // A pid that cannot be running: above the kernel's pid_max limit.
  fs.writeFileSync(path.join(dead, '.owner'), '99999999\n')
  fs.writeFileSync(path.join(dead, 'ssh_client_key'), 'secret')
  assert.equal(deadBuildDirs(repoPaths(root)), [dead])
  const lines: string[] = []
  assert.equal(
    removeDeadBuildDirs(repoPaths(root), (l) => lines.push(l)),
    [dead],
  )
  assert.match(
    lines[0] as string,
    /removed build directory _build_tmp\/jh_slurm_pod_dev_a\.\S+ left by a run that died/,
  )
  assert.ok(fs.existsSync(live) && fs.existsSync(kept))
  assert.not.ok(fs.existsSync(dead))
  assert.is(fs.statSync(live).mode & 0o777, 0o700)
  fs.rmSync(root, { recursive: true, force: true })
})

test.run()
