// The Nadir tunnel's client: its image's build settings, the container and
// its two Secrets in prod's manifest, the operator's files and their errors,
// and the client's command line and reconnection, run on the host against a
// recording stand-in of ssh.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseArgsFile } from '../../scripts/lib/build-args.ts'
import { resolveEnvironment } from '../../scripts/lib/environment.ts'
import { buildSettings, planImageBuild } from '../../scripts/lib/images.ts'
import { planRender } from '../../scripts/lib/manifest-input.ts'
import { readNadirAccess } from '../../scripts/lib/nadir.ts'
import { IMAGE_KEYS } from '../../scripts/lib/names.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { noBuildOptions, renderEnvironmentManifest, repo, tempDir } from '../helpers.ts'

const CLIENT_DIR = path.join(repoRoot, 'nadir-client')

test('the client image is built like the others: three stages, its base image a pinned build argument', () => {
  assert.ok(IMAGE_KEYS.includes('nadir-client'))
  const args = parseArgsFile(fs.readFileSync(path.join(CLIENT_DIR, 'build.args'), 'utf8'), 'nadir-client')
  assert.match(args.get('BASE_IMAGE') ?? '', /^docker\.io\/library\/alpine:\d+\.\d+$/)
  const containerfile = fs.readFileSync(path.join(CLIENT_DIR, 'Containerfile'), 'utf8')
  for (const stage of ['stage-base', 'stage-dev', 'stage-prod'])
    assert.match(containerfile, new RegExp(`AS ${stage}$`, 'm'))
  assert.match(containerfile, /^RUN .*\n?.*apk add --no-cache openssh$/m)
  assert.not.match(containerfile, /<</, 'no heredocs')
})

test('the client image takes an args file of its own (--nadir-args-file, JH_SLURM_NADIR_ARGS_FILE)', () => {
  const file = path.join(tempDir(), 'nadir.args')
  fs.writeFileSync(file, 'BASE_IMAGE=localhost/test-double/alpine:3.21\n')
  const settings = buildSettings({ ...noBuildOptions(), 'nadir-args-file': file }, ['nadir-client'], 'stage-prod')
  const build = planImageBuild('nadir-client', settings, repo)
  assert.is(build.ref, 'localhost/nadir-client:prod-latest')
  assert.is(build.contextDir, CLIENT_DIR)
  assert.is(build.args.get('BASE_IMAGE'), 'localhost/test-double/alpine:3.21')
  fs.writeFileSync(file, 'BASE_IMAGES=typo\n')
  assert.throws(
    () => planImageBuild('nadir-client', settings, repo),
    /unknown build argument BASE_IMAGES for nadir-client/,
  )
})

test("prod runs the client as upstream does, with its key and the server's address under /etc/nadir/", async () => {
  const { docs } = await renderEnvironmentManifest('prod')
  const pod = docs.find((d) => d.kind === 'Pod')
  const client = pod.spec.containers.find((c: { name: string }) => c.name === 'nadir-client')
  assert.is(client.image, 'localhost/nadir-client:prod-latest')
  const env = Object.fromEntries(client.env.map((e: { name: string; value: string }) => [e.name, e.value]))
  assert.equal(env, {
    NADIR_SERVER_ADDRESS_PATH: '/etc/nadir/server_address',
    NADIR_SERVER_SSH_PORT: '22',
    NADIR_CLIENT_SSH_IDENTITY_PATH: '/etc/nadir/ssh_key',
    NADIR_CLIENT_FORWARD_TO_HOST: '127.0.0.1',
    NADIR_CLIENT_FORWARD_TO_PORT: '8000',
    NADIR_CLIENT_REMOTE_PORT: '8000',
  })
  const mounts = client.volumeMounts.map((m: { name: string; mountPath: string; subPath: string }) => [
    m.mountPath,
    m.name,
    m.subPath,
  ])
  assert.equal(mounts, [
    ['/etc/nadir/server_address', 'nadir-config', 'server_address'],
    ['/etc/nadir/ssh_key', 'ssh-nadir-key', 'ssh_key'],
    ['/etc/nadir/ssh_key.pub', 'ssh-nadir-key', 'ssh_key.pub'],
  ])
  const volume = (name: string) => pod.spec.volumes.find((v: { name: string }) => v.name === name)
  assert.equal(volume('ssh-nadir-key').secret, {
    secretName: 'jupyterhub-slurm-ssh-nadir-key-prod',
    defaultMode: 0o600,
    optional: false,
  })
  assert.is(volume('nadir-config').secret.secretName, 'jupyterhub-slurm-nadir-config-prod')
  const secret = (name: string) => docs.find((d) => d.kind === 'Secret' && d.metadata.name === name)
  assert.equal(Object.keys(secret('jupyterhub-slurm-ssh-nadir-key-prod').stringData), ['ssh_key', 'ssh_key.pub'])
  assert.equal(secret('jupyterhub-slurm-nadir-config-prod').stringData, { server_address: 'nadir.example\n' })
  // Only the client has the tunnel's key.
  for (const c of pod.spec.containers.filter((c: { name: string }) => c.name !== 'nadir-client'))
    assert.not.ok(JSON.stringify(c.volumeMounts ?? []).includes('nadir'), c.name)
})

test("manifest prod without the operator's files leaves the two Secrets out, with a note; up refuses", async () => {
  const env = resolveEnvironment('prod', repo)
  const settings = { tag: 'prod-latest', registry: 'localhost', clusterFiles: {} }
  const plan = await planRender(env, settings, repo, 'manifest')
  assert.ok(plan.omitSecrets.includes('nadirKey') && plan.omitSecrets.includes('nadirConfig'))
  assert.ok(
    plan.notes.some((n) =>
      n.includes(
        'without --nadir-ssh-key and --nadir-server-address the Secrets jupyterhub-slurm-ssh-nadir-key-prod (ssh_key, ssh_key.pub) and jupyterhub-slurm-nadir-config-prod (server_address) are left out',
      ),
    ),
    plan.notes.join('\n'),
  )
  const dir = tempDir()
  const key = path.join(dir, 'key')
  fs.writeFileSync(key, '-----BEGIN OPENSSH PRIVATE KEY-----\nX\n-----END OPENSSH PRIVATE KEY-----\n')
  await planRender(env, { ...settings, nadirFiles: { sshKey: key } }, repo, 'manifest').then(
    () => assert.unreachable('one file of two is not enough'),
    (e: Error & { exitCode: number }) => {
      assert.match(
        e.message,
        /prod is reached through a Nadir tunnel: give the tunnel client's SSH key with --nadir-ssh-key FILE/,
      )
      assert.is(e.exitCode, 2)
    },
  )
})

test("the operator's files: unreadable, not a key, not a host name, each one line naming the file and option", async () => {
  const dir = tempDir()
  const address = path.join(dir, 'nadir_config')
  fs.writeFileSync(address, 'ssh.example.com\n')
  const notKey = path.join(dir, 'not-a-key')
  fs.writeFileSync(notKey, 'hello\n')
  const refused = async (files: { sshKey: string; serverAddress: string }, pattern: RegExp) =>
    readNadirAccess('prod', files).then(
      () => assert.unreachable(`accepted ${JSON.stringify(files)}`),
      (e: Error & { exitCode: number }) => {
        assert.match(e.message, pattern)
        assert.not.match(e.message, /\n/)
        assert.is(e.exitCode, 2)
      },
    )
  await refused(
    { sshKey: path.join(dir, 'missing'), serverAddress: address },
    /cannot read Nadir client key given with --nadir-ssh-key \(JH_SLURM_NADIR_SSH_KEY\) .*missing: no such file/,
  )
  await refused(
    { sshKey: notKey, serverAddress: address },
    /not-a-key \(--nadir-ssh-key \(JH_SLURM_NADIR_SSH_KEY\)\) is not an SSH private key/,
  )
  await refused(
    { sshKey: notKey, serverAddress: path.join(dir, 'gone') },
    /cannot read Nadir server address file given with --nadir-server-address \(JH_SLURM_NADIR_SERVER_ADDRESS\) .*gone: no such file/,
  )
  for (const text of ['', 'two.example\nthree.example\n', 'nadir@ssh.example.com\n', 'ssh.example.com; rm -rf /\n']) {
    fs.writeFileSync(address, text)
    await refused(
      { sshKey: notKey, serverAddress: address },
      /nadir_config \(--nadir-server-address \(JH_SLURM_NADIR_SERVER_ADDRESS\)\): expected one line holding the Nadir server's host name/,
    )
  }
})

test('a key pair and an address that are good are read, the public half derived', async () => {
  const dir = tempDir()
  const key = path.join(dir, 'nadir_key')
  const { execFileSync } = await import('node:child_process')
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nadir test', '-f', key])
  const address = path.join(dir, 'nadir_config')
  fs.writeFileSync(address, '  ssh.example.com  \n\n')
  const access = await readNadirAccess('prod', { sshKey: key, serverAddress: address })
  assert.is(access.serverAddress, 'ssh.example.com')
  assert.is(access.key.publicKey, fs.readFileSync(`${key}.pub`, 'utf8').trim())
  assert.is(access.key.privateKey, fs.readFileSync(key, 'utf8'))
})

/** Runs the client's start script with a stand-in `ssh` that records its arguments and exits at once. */
async function runClient(
  env: Record<string, string>,
  connections: number,
): Promise<{ calls: string[][]; log: string }> {
  const dir = tempDir()
  const bin = path.join(dir, 'bin')
  fs.mkdirSync(bin)
  const record = path.join(dir, 'calls')
  fs.writeFileSync(
    path.join(bin, 'ssh'),
    `#!/bin/sh\nfor a in "$@"; do printf '%s\\t' "$a"; done >> ${record}\necho >> ${record}\nexit 255\n`,
    { mode: 0o755 },
  )
  fs.writeFileSync(path.join(dir, 'server_address'), 'nadir.example\n')
  fs.writeFileSync(path.join(dir, 'ssh_key'), 'key\n', { mode: 0o600 })
  const child = spawn(path.join(CLIENT_DIR, 'container-scripts', 'start-nadir-client'), [], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      NADIR_SERVER_ADDRESS_PATH: path.join(dir, 'server_address'),
      NADIR_SERVER_SSH_PORT: '22',
      NADIR_CLIENT_SSH_IDENTITY_PATH: path.join(dir, 'ssh_key'),
      NADIR_CLIENT_FORWARD_TO_HOST: '127.0.0.1',
      NADIR_CLIENT_FORWARD_TO_PORT: '8000',
      NADIR_CLIENT_REMOTE_PORT: '8000',
      NADIR_CLIENT_RETRY_SECONDS: '0',
      ...env,
    },
  })
  let log = ''
  child.stderr.on('data', (chunk) => (log += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const calls = () =>
    (fs.existsSync(record) ? fs.readFileSync(record, 'utf8') : '')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t').filter(Boolean))
  const deadline = Date.now() + 10_000
  while (calls().length < connections && child.exitCode === null && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50))
  child.kill('SIGTERM')
  await exited
  return { calls: calls(), log }
}

test("the client runs upstream's ssh command and connects again when the connection ends", async () => {
  const { calls, log } = await runClient({}, 2)
  assert.ok(calls.length >= 2, `connected ${calls.length} time(s)\n${log}`)
  const [first] = calls
  assert.equal(first?.slice(0, 7), [
    'nadir@nadir.example',
    '-p',
    '22',
    '-R',
    '*:8000:127.0.0.1:8000',
    '-i',
    first?.[6] ?? '',
  ])
  assert.match(first?.[6] ?? '', /ssh_key$/)
  const options = (first ?? []).flatMap((arg, i, all) => (all[i - 1] === '-o' ? [arg] : []))
  for (const option of [
    'ExitOnForwardFailure=no',
    'StrictHostKeyChecking=no',
    'UserKnownHostsFile=/dev/null',
    'IdentitiesOnly=yes',
    'RequestTTY=no',
    'SessionType=none',
    'ServerAliveInterval=15',
    'ServerAliveCountMax=21',
  ])
    assert.ok(options.includes(option), `${option} in ${options.join(' ')}`)
  assert.match(log, /tunnel closed \(ssh exit 255\); connecting again in 0 s/)
})

test('the client refuses to start without its settings or files, in one line', async () => {
  const { calls, log } = await runClient({ NADIR_CLIENT_REMOTE_PORT: '' }, 1)
  assert.is(calls.length, 0)
  assert.match(log, /^nadir-client: NADIR_CLIENT_REMOTE_PORT is not set$/m)
  const missing = await runClient({ NADIR_CLIENT_SSH_IDENTITY_PATH: '/nonexistent/ssh_key' }, 1)
  assert.is(missing.calls.length, 0)
  assert.match(missing.log, /^nadir-client: cannot read \/nonexistent\/ssh_key$/m)
})

test.run()
