// `up` run in-process against the fake podman, in a scratch copy of the
// repository layout: rollback, refusal and the happy path.
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { buildSettings } from '../../scripts/lib/images.ts'
import { up } from '../../scripts/up.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { LEGACY_NAMES, type ResourceNames, resourceNames } from '../../scripts/lib/names.ts'
import { nodePodName } from '../../scripts/lib/nodes.ts'
import { type FakePodman, noBuildOptions, tempDir, useFakePodman } from '../helpers.ts'

let fake: FakePodman
let root: string

function scratchRepo(): string {
  const dir = tempDir('jh-slurm-up-')
  for (const item of [
    'config/dev_dummyauth',
    'volumes/dev_dummyauth',
    'jh_slurm_pod.yaml',
    'brics_jupyterhub/build.args',
    'brics_slurm/build.args',
  ]) {
    fs.cpSync(path.join(repoRoot, item), path.join(dir, item), { recursive: true })
  }
  // Existing clones: the clone step skips them.
  fs.mkdirSync(path.join(dir, 'brics_jupyterhub/_dev_build_data/bricsauthenticator'), { recursive: true })
  fs.mkdirSync(path.join(dir, 'brics_slurm/_dev_build_data/slurmspawner_wrappers'), { recursive: true })
  return dir
}

const names = resourceNames('dev_dummyauth')
/** The pods an up of dev_dummyauth makes: the hub's and its two Slurm nodes (the default slurmNodes). */
const podsOf = (n: ResourceNames) => [n.pod, nodePodName(n, 1), nodePodName(n, 2)]

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}

async function run(
  extra: { keepBuildData?: boolean; hostPort?: number } = {},
): Promise<{ code: number; output: string }> {
  let output = ''
  const out = process.stdout.write.bind(process.stdout)
  const err = process.stderr.write.bind(process.stderr)
  const capture = (chunk: string | Uint8Array) => {
    output += chunk.toString()
    return true
  }
  process.stdout.write = capture as typeof process.stdout.write
  process.stderr.write = capture as typeof process.stderr.write
  try {
    const code = await up(
      {
        envName: 'dev_dummyauth',
        build: buildSettings(noBuildOptions()),
        keepBuildData: extra.keepBuildData ?? false,
        waitSeconds: 0,
        // A port nothing holds, whatever runs on this machine.
        hostPort: extra.hostPort ?? (await freePort()),
        clusterFiles: {},
      },
      repoPaths(root),
    )
    return { code, output }
  } finally {
    process.stdout.write = out
    process.stderr.write = err
  }
}

const buildDirs = () =>
  fs.existsSync(path.join(root, '_build_tmp'))
    ? fs.readdirSync(path.join(root, '_build_tmp')).filter((n) => n.startsWith('jh_slurm_pod_'))
    : []

test.before.each(() => {
  root = scratchRepo()
})
test.after.each(() => {
  fake.restore()
  fs.rmSync(root, { recursive: true, force: true })
})

test('a failure after resources were made rolls all of them back', async () => {
  fake = useFakePodman({})
  process.env.FAKE_PODMAN_FAIL = '^kube play'
  const { code, output } = await run()
  assert.is(code, 1)
  assert.match(output, /rolling back what this run created/)
  assert.match(output, /removed volume jupyterhub-root-dev-dummyauth/)
  assert.match(output, /removed volume slurm-root-dev-dummyauth/)
  assert.equal(fake.resources().volumes, [])
  assert.equal(buildDirs(), [])
  assert.not.ok(fs.existsSync(path.join(root, '_build_tmp', '.lock.dev_dummyauth')))
})

// Each test takes a port no other process holds: suites may run side by side on one machine.
const refusals: Array<[string, (port: number) => Parameters<typeof useFakePodman>[0], (port: number) => RegExp]> = [
  [
    'the same environment already up',
    () => ({ pods: [names.pod], volumes: [names.volumes.jupyterhub, names.volumes.slurm] }),
    () =>
      /error: environment dev_dummyauth is already up \(pod jupyterhub-slurm-dev-dummyauth and 2 more\); run `jh-slurm-pod down dev_dummyauth` first/,
  ],
  [
    'an environment of an earlier version under the fixed names',
    () => ({ pods: [LEGACY_NAMES.pod], volumes: ['slurm_root'] }),
    () =>
      /error: an environment from an earlier version is still up under the old fixed names \(pod jupyterhub-slurm and 1 more\); remove it with `jh-slurm-pod down --all`/,
  ],
  [
    'another environment on the same port',
    (port) => ({
      pods: ['jupyterhub-slurm-other'],
      podLabels: {
        'jupyterhub-slurm-other': { 'jh-slurm-pod/environment': 'other', 'jh-slurm-pod/host-port': String(port) },
      },
    }),
    (port) =>
      new RegExp(
        `error: port ${port} is used by environment other; choose another with --port, or run \`jh-slurm-pod down other\``,
      ),
  ],
  [
    'a port that something else holds',
    () => ({}),
    (port) => new RegExp(`error: 127\\.0\\.0\\.1:${port} is already in use; stop what holds it`),
  ],
]
for (const [what, state, message] of refusals) {
  test(`refused before anything is made: ${what}`, async () => {
    // What the other environment's pod (or another program) would hold.
    const holder = net.createServer()
    const port = await new Promise<number>((resolve) =>
      holder.listen(0, '127.0.0.1', () => resolve((holder.address() as net.AddressInfo).port)),
    )
    if (!/port/.test(what)) await new Promise((resolve) => holder.close(resolve))
    fake = useFakePodman(state(port))
    const before = fake.resources()
    const { code, output } = await run({ hostPort: port }).finally(() => holder.close())
    assert.is(code, 1)
    assert.match(output, message(port))
    assert.not.ok(
      fake.calls().some((c) => c[0] === 'build' || c[1] === 'create' || c[1] === 'import' || c[1] === 'play'),
    )
    assert.equal(buildDirs(), [])
    assert.equal(fake.resources(), before)
  })
}

test('with podman missing, that is what is reported, though the other checks fail with it', async () => {
  fake = useFakePodman({})
  process.env.JH_SLURM_PODMAN = '/nonexistent/podman'
  try {
    const { code, output } = await run()
    assert.is(code, 1)
    const errors = output.split('\n').filter((line) => line.startsWith('error:'))
    assert.equal(errors.length, 1, output)
    assert.match(errors[0] ?? '', /^error: podman is not usable \(\/nonexistent\/podman: /)
    assert.equal(buildDirs(), [])
  } finally {
    delete process.env.JH_SLURM_PODMAN
  }
})

test('another environment up on another port does not stop this one; --port moves the hub', async () => {
  const other = resourceNames('dev_realauth')
  fake = useFakePodman({
    pods: [other.pod],
    podLabels: { [other.pod]: { 'jh-slurm-pod/environment': 'dev_realauth', 'jh-slurm-pod/host-port': '8001' } },
    volumes: [other.volumes.jupyterhub],
  })
  const port = await freePort()
  const { code, output } = await run({ hostPort: port, keepBuildData: true })
  assert.is(code, 0, output)
  assert.equal(fake.resources().pods, [other.pod, ...podsOf(names)])
  assert.match(output, new RegExp(`Environment dev_dummyauth is up: http://127\\.0\\.0\\.1:${port}/jupyter/`))
  // Kept on purpose: marked, so that `down` leaves it.
  const [kept] = buildDirs()
  assert.ok(kept && fs.existsSync(path.join(root, '_build_tmp', kept, '.kept')))
})

test('a full run makes the pod, volumes and secrets, keeps no key material and prints no key', async () => {
  fake = useFakePodman({})
  const { code, output } = await run()
  assert.is(code, 0, output)
  const made = fake.resources()
  assert.equal([...made.volumes].sort(), [
    names.volumes.jupyterhub,
    names.volumes.accounting,
    names.volumes.homes,
    names.volumes.slurm,
  ])
  assert.equal(made.secrets, [
    names.secrets.clientKey,
    names.secrets.hostKey,
    names.secrets.devLogin,
    names.secrets.munge,
    names.secrets.proxyToken,
  ])
  assert.equal(made.pods, podsOf(names))
  const created = fake.calls().filter((c) => c[0] === 'volume' && c[1] === 'create')
  assert.ok(
    created.some(
      (c) => c.join(' ') === `volume create --label jh-slurm-pod/environment=dev_dummyauth ${names.volumes.jupyterhub}`,
    ),
  )
  const built = fake
    .calls()
    .filter((c) => c[0] === 'build')
    .map((c) => c[c.indexOf('--tag') + 1])
    .sort()
  assert.equal(built, ['localhost/brics_jupyterhub:dev-latest', 'localhost/brics_slurm:dev-latest'])
  // The base images are not here under their names: no digest of inputs, so no label.
  assert.not.ok(fake.calls().some((c) => c[0] === 'build' && c.includes('--label')))
  assert.equal(buildDirs(), [])
  const passwordFile = path.join(root, '_build_tmp', 'dev_login_password.dev_dummyauth')
  assert.is(fs.statSync(passwordFile).mode & 0o777, 0o600)
  const password = fs.readFileSync(passwordFile, 'utf8').trim()
  assert.match(output, new RegExp(`Dev login password \\(dummy login\\): ${password}`))
  assert.match(output, /Environment dev_dummyauth is up: http:\/\/127\.0\.0\.1:\d+\/jupyter\//)
  assert.match(output, /Tear down with: jh-slurm-pod down dev_dummyauth/)
  assert.match(output, /Step timings:/)
  assert.not.match(output, /PRIVATE KEY/)
})

test('a later up skips a build whose inputs are unchanged, and builds when a file or the base image changes', async () => {
  fake = useFakePodman({})
  const bases = (hubBaseId: string) =>
    fs.writeFileSync(
      `${fake.state}.images`,
      JSON.stringify([
        ...(fs.existsSync(`${fake.state}.images`)
          ? JSON.parse(fs.readFileSync(`${fake.state}.images`, 'utf8'))
          : []
        ).filter((i: { Id: string }) => !i.Id.startsWith('base-')),
        { Id: hubBaseId, Names: ['quay.io/jupyterhub/jupyterhub:5.4.2'], Labels: {} },
        { Id: 'base-slurm', Names: ['docker.io/nathanhess/slurm:full-root'], Labels: {} },
      ]),
    )
  const builds = () =>
    fake
      .calls()
      .filter((c) => c[0] === 'build')
      .map((c) => c[c.indexOf('--tag') + 1] as string)
  // Each run comes up afresh: only the images stay.
  const again = async () => {
    fs.writeFileSync(fake.state, '{}')
    const result = await run()
    assert.is(result.code, 0, result.output)
    return result.output
  }
  bases('base-hub-1')
  await again()
  assert.equal(builds().sort(), ['localhost/brics_jupyterhub:dev-latest', 'localhost/brics_slurm:dev-latest'])
  const labels = fake
    .calls()
    .filter((c) => c[0] === 'build')
    .map((c) => c[c.indexOf('--label') + 1])
  for (const label of labels) assert.match(label ?? '', /^jh-slurm-pod\.build-inputs=[0-9a-f]{64}$/)

  const output = await again()
  assert.is(builds().length, 2, 'nothing changed: no build')
  assert.match(output, /localhost\/brics_slurm:dev-latest: up to date/)
  assert.equal(fake.resources().pods, podsOf(names))

  fs.writeFileSync(path.join(root, 'brics_slurm/_dev_build_data/slurmspawner_wrappers/changed.py'), 'x = 1\n')
  await again()
  assert.equal(builds().slice(2), ['localhost/brics_slurm:dev-latest'], 'a file of the Slurm context changed')

  bases('base-hub-2')
  await again()
  assert.equal(builds().slice(3), ['localhost/brics_jupyterhub:dev-latest'], 'the hub base image changed')
  await again()
  assert.is(builds().length, 4)
})

test('a remote podman: builds one at a time without --jobs, then volumes filled through the built image', async () => {
  fake = useFakePodman({ server: '5.4.2' })
  const { code, output } = await run()
  assert.is(code, 0, output)
  assert.match(output, /podman 5\.4\.2 \(remote client\)/)
  const calls = fake.calls()
  const builds = calls.filter((c) => c[0] === 'build')
  assert.is(builds.length, 2)
  for (const build of builds) assert.not.ok(build.includes('--jobs'), build.join(' '))
  assert.not.ok(calls.some((c) => c[1] === 'import'))
  const fills = calls.filter((c) => c[0] === 'run')
  assert.equal(fills.map((c) => c[c.indexOf('--volume') + 1]).sort(), [
    `${names.volumes.jupyterhub}:/volume`,
    `${names.volumes.accounting}:/volume`,
    `${names.volumes.homes}:/volume`,
    `${names.volumes.slurm}:/volume`,
  ])
  // The image of the first build, filled after the builds (the fake refuses an image it has not got).
  for (const fill of fills) assert.is(fill[fill.indexOf('--volume') + 2], 'localhost/brics_jupyterhub:dev-latest')
  const lastBuild = calls.lastIndexOf(builds[1] as string[])
  assert.ok(calls.findIndex((c) => c[0] === 'run') > lastBuild)
  assert.equal(fake.resources().pods, podsOf(names))
})

test('a remote run that fails after its volumes were filled rolls them back', async () => {
  fake = useFakePodman({ server: '5.4.2' })
  process.env.FAKE_PODMAN_FAIL = '^kube play'
  const { code, output } = await run()
  assert.is(code, 1)
  assert.ok(fake.calls().filter((c) => c[0] === 'run').length === 4, 'the four volumes were filled')
  assert.match(output, /removed volume jupyterhub-root-dev-dummyauth/)
  assert.equal(fake.resources().volumes, [])
})

test('a local podman builds with --jobs, side by side, and imports volumes', async () => {
  fake = useFakePodman({})
  const { code, output } = await run()
  assert.is(code, 0, output)
  assert.match(output, /podman 5\.4\.2(?! \(remote)/)
  const calls = fake.calls()
  const builds = calls.filter((c) => c[0] === 'build')
  assert.is(builds.length, 2, 'both images built')
  for (const build of builds) assert.ok(build.includes('--jobs'), build.join(' '))
  assert.is(calls.filter((c) => c[0] === 'volume' && c[1] === 'import').length, 4)
  assert.not.ok(calls.some((c) => c[0] === 'run'))
})

test.run()
