import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { decideActions } from '../../scripts/lib/apply-plan.ts'
import { createArgs, mountOption } from '../../scripts/lib/containers.ts'
import { withDevMounts } from '../../scripts/lib/dev-mounts.ts'
import { generatedVersionFile } from '../../scripts/lib/version-file.ts'
import type { TemplateUse } from '../../scripts/lib/template.ts'
import { compareSnapshots, nothingChanged, type Snapshot, treeDigest } from '../../scripts/lib/snapshot.ts'
import type { DevRepo } from '../../scripts/lib/sources.ts'

const repo = (name: string, image: 'jupyterhub' | 'slurm'): DevRepo => ({
  name,
  image,
  url: '',
  ref: 'v1',
  dest: `/repo/${image}/_dev_build_data/${name}`,
  overrideVars: { url: '', ref: '' },
})
const repos = [repo('bricsauthenticator', 'jupyterhub'), repo('slurmspawner_wrappers', 'slurm')]
const use: TemplateUse = {
  volumes: ['jupyterhub', 'slurm'],
  secrets: ['clientKey', 'hostKey', 'devLogin'],
  configMaps: ['devUsers', 'deployConfig'],
  images: ['jupyterhub', 'slurm'],
  publishesHubApi: false,
}
const base: Snapshot = {
  clones: { bricsauthenticator: 'a', slurmspawner_wrappers: 'b' },
  packaging: { bricsauthenticator: 'pa', slurmspawner_wrappers: 'pb' },
  hubFiles: { './etc/jupyterhub/jupyterhub_config.py': 'c', './etc/jupyterhub/jh_slurm_hub.py': 'd' },
  devUsers: ['testuser.project1', 'otheruser.project1'],
  deployConfig: { logLevel: 'DEBUG' },
  images: { jupyterhub: 'hi', slurm: 'si' },
}
const decide = (now: Snapshot) => decideActions(compareSnapshots(base, now), now, use, repos)

test('the same snapshot is nothing to do', () => {
  assert.ok(nothingChanged(compareSnapshots(base, structuredClone(base))))
})

test('an authenticator edit restarts the hub only; a wrappers edit is live', () => {
  const hub = decide({ ...base, clones: { ...base.clones, bricsauthenticator: 'a2' } })
  assert.equal(hub.rebuild, [])
  assert.equal(hub.replace, { jupyterhub: false, slurm: false })
  assert.ok(hub.restartHub)
  const wrappers = decide({ ...base, clones: { ...base.clones, slurmspawner_wrappers: 'b2' } })
  assert.not.ok(wrappers.restartHub)
  assert.equal(wrappers.live, ['slurmspawner_wrappers'])
})

test('a configuration edit copies the files and restarts the hub; a removed file is removed', () => {
  const files = { ...base.hubFiles, './etc/jupyterhub/jupyterhub_config.py': 'c2' }
  delete (files as Record<string, string>)['./etc/jupyterhub/jh_slurm_hub.py']
  const actions = decide({ ...base, hubFiles: files })
  assert.ok(actions.copyHubFiles && actions.restartHub)
  assert.equal(actions.removeHubFiles, ['./etc/jupyterhub/jh_slurm_hub.py'])
  assert.not.ok(actions.replace.jupyterhub)
})

test('a new GPU count replaces the Slurm container (its gres is set up at start); other settings do not', () => {
  const gpus = decide({ ...base, deployConfig: { ...base.deployConfig, slurmGpusPerNode: '2' } })
  assert.equal(gpus.replace, { jupyterhub: true, slurm: true })
  const level = decide({ ...base, deployConfig: { ...base.deployConfig, logLevel: 'INFO' } })
  assert.equal(level.replace, { jupyterhub: true, slurm: false })
})

test('dev users: the hub is replaced with the new list, new users are created, removed ones only reported', () => {
  const actions = decide({ ...base, devUsers: ['testuser.project1', 'newuser.project3'] })
  assert.equal(actions.newUsers, ['newuser.project3'])
  assert.equal(actions.removedUsers, ['otheruser.project1'])
  assert.equal(actions.replace, { jupyterhub: true, slurm: false })
  // The order alone counts: the dummy login takes the first user.
  assert.ok(decide({ ...base, devUsers: [...(base.devUsers ?? [])].reverse() }).replace.jupyterhub)
})

test('an image input or a packaging file rebuilds that image and replaces only its container', () => {
  const slurm = decide({ ...base, images: { ...base.images, slurm: 'si2' } })
  assert.equal(slurm.rebuild, ['slurm'])
  assert.equal(slurm.replace, { jupyterhub: false, slurm: true })
  assert.not.ok(slurm.restartHub)
  const packaging = decide({ ...base, packaging: { ...base.packaging, bricsauthenticator: 'pa2' } })
  assert.equal(packaging.rebuild, ['jupyterhub'])
  assert.equal(packaging.replace, { jupyterhub: true, slurm: false })
})

test('without a record everything but the images is applied', () => {
  const actions = decideActions(undefined, base, use, repos)
  assert.equal(actions.rebuild, [])
  assert.ok(actions.copyHubFiles && actions.replace.jupyterhub)
  assert.equal(actions.newUsers, base.devUsers)
})

test('clones are mounted read-only into the container of their image, where the editable install points', () => {
  const template = { spec: { containers: [{ name: 'jupyterhub' }, { name: 'slurm', volumeMounts: [] }], volumes: [] } }
  const pod = withDevMounts(template, repos) as unknown as typeof template & {
    spec: { containers: Array<{ volumeMounts: unknown[] }>; volumes: unknown[] }
  }
  assert.equal(pod.spec.containers[0]?.volumeMounts, [
    { name: 'dev-bricsauthenticator', mountPath: '/srv/dev_data/bricsauthenticator', readOnly: true },
  ])
  assert.equal(pod.spec.volumes[1], {
    name: 'dev-slurmspawner-wrappers',
    hostPath: { path: '/repo/slurm/_dev_build_data/slurmspawner_wrappers', type: 'Directory' },
  })
  assert.equal(template.spec.volumes, [], 'the template itself is left alone')
})

test("setuptools-scm's version file is found in pyproject.toml", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h16-'))
  fs.writeFileSync(
    path.join(dir, 'pyproject.toml'),
    '[project]\nname = "x"\n\n[tool.setuptools_scm]\nroot = "."\nversion_file = "src/x/_version.py"\n\n[tool.other]\nwrite_to = "no"\n',
  )
  assert.is(generatedVersionFile(dir), 'src/x/_version.py')
  assert.is(generatedVersionFile(path.join(dir, 'missing')), undefined)
  fs.rmSync(dir, { recursive: true })
})

test('a tree digest follows content and names, not caches', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'h16-'))
  fs.writeFileSync(path.join(dir, 'a.py'), 'x = 1\n')
  const skip = /^(__pycache__)$/
  const first = treeDigest(dir, skip)
  fs.mkdirSync(path.join(dir, '__pycache__'))
  fs.writeFileSync(path.join(dir, '__pycache__', 'a.pyc'), 'junk')
  assert.is(treeDigest(dir, skip), first)
  fs.writeFileSync(path.join(dir, 'a.py'), 'x = 2\n')
  assert.is.not(treeDigest(dir, skip), first)
  fs.rmSync(dir, { recursive: true })
})

test('a replacement container gets the same mounts, subpaths and read-only flags, in the same pod', () => {
  const old = {
    Image: 'abc123',
    ImageName: 'localhost/brics_jupyterhub:dev-latest',
    Pod: 'podid',
    Mounts: [
      {
        Type: 'volume',
        Name: 'jupyterhub-root-x',
        Source: '/v',
        Destination: '/etc/jupyterhub',
        RW: false,
        SubPath: 'etc/jupyterhub',
      },
      { Type: 'bind', Source: '/repo/clone', Destination: '/srv/dev_data/clone', RW: false },
    ],
    HostConfig: { RestartPolicy: { Name: 'always' } },
    State: { Status: 'running' },
  }
  assert.is(mountOption(old.Mounts[1] as never), 'type=bind,source=/repo/clone,destination=/srv/dev_data/clone,ro=true')
  assert.equal(createArgs('hub-next', old, { env: { A: '1 2' } }), [
    'create',
    '--pod',
    'podid',
    '--name',
    'hub-next',
    '--restart',
    'always',
    '--env',
    'A=1 2',
    '--mount',
    'type=volume,source=jupyterhub-root-x,destination=/etc/jupyterhub,subpath=etc/jupyterhub,ro=true',
    '--mount',
    'type=bind,source=/repo/clone,destination=/srv/dev_data/clone,ro=true',
    'abc123',
  ])
  assert.is(createArgs('hub-next', old, { env: {}, image: 'localhost/new:tag' }).at(-1), 'localhost/new:tag')
  // dev_realauth's issuer and front run a command of the pod's, not the image's.
  const command = ['node', '/opt/dev-login/front.mjs']
  assert.equal(createArgs('front-next', old, { env: {}, command }).slice(-3), ['abc123', ...command])
  // A container the pod gave an init process keeps it when replaced; one without gets none.
  assert.not.ok(createArgs('hub-next', old, { env: {} }).includes('--init'))
  const withInit = { ...old, HostConfig: { ...old.HostConfig, Init: true } }
  assert.equal(createArgs('hub-next', withInit, { env: {} }).slice(5, 9), ['--restart', 'always', '--init', '--mount'])
})

test('the proxy is replaced, before the hub, only when baseUrl changes; other settings leave it running', async () => {
  const { applyTasks } = await import('../../scripts/tasks/apply.ts')
  const { resourceNames } = await import('../../scripts/lib/names.ts')
  const { readPodTemplate } = await import('../../scripts/lib/template.ts')
  const { repoPaths } = await import('../../scripts/lib/paths.ts')
  const template = await readPodTemplate(repoPaths().podTemplate)
  const titles = (deployConfig: string[]) => {
    const plan = {
      env: { names: resourceNames('dev_dummyauth'), hostPort: 8000 },
      template,
      running: { hostPort: 8000 },
      builds: [],
      repos,
      settings: new Map(),
      changes: { clones: [], hubFiles: { changed: [], removed: [] }, devUsers: false, deployConfig },
      actions: {
        rebuild: [],
        copyHubFiles: false,
        removeHubFiles: [],
        newUsers: [],
        removedUsers: [],
        replace: { jupyterhub: true, slurm: false },
        restartHub: true,
        live: [],
      },
    }
    return applyTasks(plan as never, 0).map((t) => String(t.title))
  }
  const moved = titles(['baseUrl'])
  const proxy = moved.findIndex((t) => t.startsWith('Replace the proxy'))
  assert.ok(proxy >= 0, moved.join('\n'))
  assert.ok(proxy < moved.findIndex((t) => t.startsWith('Replace the hub container')))
  assert.not.ok(titles(['logLevel']).some((t) => t.includes('proxy')))
})

test.run()
