import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import tarStream from 'tar-stream'
import { packVolume, volumeEntries, volumeFill, volumeFillCommand, volumeSpecs } from '../../scripts/lib/volumes.ts'
import { resolveEnvironment } from '../../scripts/lib/environment.ts'
import { volumeOwners } from '../../scripts/lib/owners.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { repo } from '../helpers.ts'

const slurmRoot = path.join(repoRoot, 'volumes', 'dev_dummyauth', 'slurm_root')
const owner = { uname: 'slurm', uid: 64030, gname: 'slurm', gid: 64030 }

async function readArchive(stream: NodeJS.ReadableStream) {
  const extract = tarStream.extract()
  const seen: Array<{
    name: string
    type: string
    uid: number
    gid: number
    uname: string
    gname: string
    mode: number
    body: string
  }> = []
  extract.on('entry', (header, body, next) => {
    let text = ''
    body.on('data', (c: unknown) => (text += String(c)))
    body.on('end', () => {
      seen.push({
        name: header.name,
        type: header.type as string,
        uid: header.uid as number,
        gid: header.gid as number,
        uname: header.uname as string,
        gname: header.gname as string,
        mode: header.mode as number,
        body: text,
      })
      next()
    })
    body.resume()
  })
  await new Promise((resolve, reject) => {
    extract.on('finish', () => resolve(undefined))
    extract.on('error', reject)
    stream.pipe(extract)
  })
  return seen
}

test('the archive holds the tree without .gitkeep, every entry owned as configured', async () => {
  const entries = await readArchive(packVolume(await volumeEntries(slurmRoot, owner)))
  assert.equal(
    entries.map((e) => e.name),
    [
      './',
      './var/',
      './var/log/',
      './var/log/slurmctld.log',
      './var/log/slurmd.log',
      './var/log/sshd.log',
      './var/spool/',
      './var/spool/slurmctld/',
      './var/spool/slurmd/',
    ],
  )
  for (const e of entries) {
    assert.equal([e.uid, e.gid, e.uname, e.gname], [64030, 64030, 'slurm', 'slurm'], e.name)
    assert.is(e.type, e.name.endsWith('/') ? 'directory' : 'file')
  }
})

test('modes and contents are those of the files', async () => {
  const hubRoot = path.join(repoRoot, 'volumes', 'dev_dummyauth', 'jupyterhub_root')
  const entries = await readArchive(packVolume(await volumeEntries(hubRoot, volumeOwners({}).jupyterhub)))
  const config = entries.find((e) => e.name === './etc/jupyterhub/jupyterhub_config.py')
  assert.ok(config)
  assert.is(config.body, fs.readFileSync(path.join(hubRoot, 'etc/jupyterhub/jupyterhub_config.py'), 'utf8'))
  assert.is(config.mode, fs.statSync(path.join(hubRoot, 'etc/jupyterhub/jupyterhub_config.py')).mode & 0o7777)
  assert.equal([config.uid, config.gid, config.uname, config.gname], [0, 0, 'root', 'root'])
  assert.not.ok(entries.some((e) => e.name.endsWith('.gitkeep')))
})

test('owners come from the environment with the documented defaults', () => {
  assert.equal(volumeOwners({}), {
    jupyterhub: { uname: 'root', uid: 0, gname: 'root', gid: 0 },
    slurm: { uname: 'slurm', uid: 64030, gname: 'slurm', gid: 64030 },
    accounting: { uname: 'slurm', uid: 64030, gname: 'slurm', gid: 64030 },
    // /home is root's; the Slurm image makes each home with its user's ids.
    homes: { uname: 'root', uid: 0, gname: 'root', gid: 0 },
  })
  const custom = volumeOwners({ SLURMUSER: 'sl', SLURMUSER_UID: '500', SLURMGROUP: 'sg', SLURMGROUP_GID: '501' })
  assert.equal(custom.slurm, { uname: 'sl', uid: 500, gname: 'sg', gid: 501 })
  assert.throws(() => volumeOwners({ JUPYTERUSER_UID: 'abc' }), /JUPYTERUSER_UID must be a number/)
})

test('a local podman imports; a remote one fills through a container of an image that is there', () => {
  assert.equal(volumeFill(false, 'img', {}), { via: 'import' })
  assert.equal(volumeFill(true, 'localhost/brics_jupyterhub:dev-latest', {}), {
    via: 'container',
    image: 'localhost/brics_jupyterhub:dev-latest',
  })
  assert.throws(() => volumeFill(true, undefined, {}), /remote podman cannot import volumes, and no image/)
  // Asked for: the podman machine's own podman imports, over ssh.
  assert.equal(volumeFill(true, 'img', { JH_SLURM_VOLUME_IMPORT_VIA_MACHINE: '1' }), { via: 'machine' })
  assert.equal(volumeFill(false, 'img', { JH_SLURM_VOLUME_IMPORT_VIA_MACHINE: '0' }), { via: 'import' })
})

test('the fill commands: podman volume import, the same over podman machine ssh, or tar in a container', () => {
  const vars = { JH_SLURM_PODMAN: 'chroot /x podman' }
  assert.equal(volumeFillCommand('v', { via: 'import' }, vars), [
    'chroot',
    '/x',
    'podman',
    'volume',
    'import',
    'v',
    '-',
  ])
  assert.equal(volumeFillCommand('v', { via: 'machine' }, {}), [
    ...['podman', 'machine', 'ssh', 'podman', 'volume', 'import', 'v', '-'],
  ])
  const run = volumeFillCommand('v', { via: 'container', image: 'img' }, {}).join(' ')
  assert.is(
    run,
    'podman run --interactive --rm --pull never --network none --user 0:0 --security-opt label=disable --entrypoint tar --volume v:/volume img --extract --numeric-owner --no-overwrite-dir --directory /volume --file -',
  )
})

test("the shared hub configuration lies under each environment's own files, which win on the same path", async () => {
  const env = resolveEnvironment('dev_dummyauth', repo)
  const [hub] = volumeSpecs(env, volumeOwners({}))
  assert.is(hub?.sharedDir, path.join(repoRoot, 'volumes', '_shared', 'jupyterhub_root'))
  const entries = await volumeEntries([hub?.sharedDir as string, hub?.srcDir as string], owner)
  const names = entries.map((e) => e.header.name)
  assert.ok(names.includes('./etc/jupyterhub/jh_slurm_hub.py'))
  assert.ok(names.includes('./etc/jupyterhub/jupyterhub_config.py'))
  assert.is(new Set(names).size, names.length)
  // Parents before what they hold.
  for (const [i, name] of names.entries()) {
    const parent = name.replace(/[^/]+\/?$/, '')
    if (name !== './') assert.ok(names.indexOf(parent) < i, `${parent} after ${name}`)
  }
  const scratch = fs.mkdtempSync(path.join(repoRoot, 'test-output-overlay-'))
  try {
    fs.mkdirSync(path.join(scratch, 'a/etc'), { recursive: true })
    fs.mkdirSync(path.join(scratch, 'b/etc'), { recursive: true })
    fs.writeFileSync(path.join(scratch, 'a/etc/x'), 'shared')
    fs.writeFileSync(path.join(scratch, 'a/etc/y'), 'shared only')
    fs.writeFileSync(path.join(scratch, 'b/etc/x'), 'own')
    const files = await readArchive(
      packVolume(await volumeEntries([path.join(scratch, 'a'), path.join(scratch, 'b')], owner)),
    )
    assert.equal(
      files.filter((f) => f.type === 'file').map((f) => [f.name, f.body]),
      [
        ['./etc/x', 'own'],
        ['./etc/y', 'shared only'],
      ],
    )
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
})

test.run()
