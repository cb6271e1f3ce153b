// Pods derived from one base: config/<env>/pod.yaml says only how its pod differs.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import YAML from 'yaml'
import { listEnvironments, resolveEnvironment } from '../../scripts/lib/environment.ts'
import { patchPod } from '../../scripts/lib/pod-patch.ts'
import { readEnvironmentPod, readPodTemplate } from '../../scripts/lib/template.ts'
import { repo, tempDir } from '../helpers.ts'

const base = {
  kind: 'Pod',
  metadata: { name: 'p', annotations: { a: '1', b: '2' } },
  spec: {
    containers: [
      {
        name: 'hub',
        image: 'hub:1',
        ports: [{ containerPort: 8000, hostPort: 8000 }],
        volumeMounts: [
          { name: 'v', mountPath: '/etc/x', readOnly: true },
          { name: 'k', mountPath: '/etc/key', subPath: 'key' },
        ],
        envFrom: [{ configMapRef: { name: 'users' } }, { configMapRef: { name: 'deploy' } }],
      },
      { name: 'slurm', image: 'slurm:1', command: ['a', 'b'] },
    ],
    volumes: [{ name: 'v' }, { name: 'k' }],
  },
}

test('lists merge by their key: changed in place, deleted, added at the end; other lists are replaced', () => {
  const before = structuredClone(base)
  const pod = patchPod(
    base,
    {
      metadata: { annotations: { b: null, c: '3' } },
      spec: {
        containers: [
          {
            name: 'hub',
            ports: [{ containerPort: 8081, hostPort: 8081 }],
            volumeMounts: [
              { mountPath: '/etc/key', name: 'other', subPath: 'other' },
              { mountPath: '/etc/x', $patch: 'delete' },
            ],
            envFrom: [{ configMapRef: { name: 'users' }, $patch: 'delete' }],
          },
          { name: 'slurm', command: ['c'] },
          { name: 'front', image: 'hub:1' },
        ],
        volumes: [{ name: 'v', $patch: 'delete' }, { name: 'other' }],
      },
    },
    'pod.yaml',
  ) as typeof base & { spec: { containers: Array<Record<string, unknown>> } }
  assert.equal(pod.metadata, { name: 'p', annotations: { a: '1', c: '3' } })
  assert.equal(pod.spec.containers, [
    {
      name: 'hub',
      image: 'hub:1',
      ports: [
        { containerPort: 8000, hostPort: 8000 },
        { containerPort: 8081, hostPort: 8081 },
      ],
      volumeMounts: [{ name: 'other', mountPath: '/etc/key', subPath: 'other' }],
      envFrom: [{ configMapRef: { name: 'deploy' } }],
    },
    { name: 'slurm', image: 'slurm:1', command: ['c'] },
    { name: 'front', image: 'hub:1' },
  ])
  assert.equal(pod.spec.volumes, [{ name: 'k' }, { name: 'other' }])
  assert.equal(base, before, 'the base pod is left as it was')
})

test('a patch that deletes what the base lacks, or an item without its key, is a one-line error', () => {
  assert.throws(
    () => patchPod(base, { spec: { containers: [{ name: 'slurrm', $patch: 'delete' }] } }, 'config/x/pod.yaml'),
    /^config\/x\/pod\.yaml: containers has no "slurrm" to delete$/,
  )
  assert.throws(
    () => patchPod(base, { spec: { containers: [{ name: 'hub', volumeMounts: [{ name: 'v' }] }] } }, 'f'),
    /^f: containers hub: an item of volumeMounts has no mountPath to match it by$/,
  )
  assert.throws(() => patchPod(base, { kind: 'Service' }, 'f'), /^f: a pod patch has kind Pod or none$/)
})

/** Fields of `patch` that only say again what `base` says. */
function repeated(patch: Record<string, unknown>, baseItem: Record<string, unknown>, key: string): string[] {
  return Object.keys(patch).filter(
    (field) => field !== key && JSON.stringify(patch[field]) === JSON.stringify(baseItem[field]),
  )
}

test("no environment's pod file repeats what the base pod says of a container or volume", async () => {
  const template = (await readPodTemplate(repo.podTemplate)) as typeof base
  const files = listEnvironments(repo)
    .map((env) => path.join(repo.config, env, 'pod.yaml'))
    .filter((file) => fs.existsSync(file))
  assert.ok(files.length >= 3, 'the environments with pods of their own')
  for (const file of files) {
    const patch = YAML.parse(fs.readFileSync(file, 'utf8'))
    assert.is(patch.spec?.containers?.length > 0 || patch.spec?.volumes?.length > 0 || 'extends' in patch, true, file)
    for (const [list, key] of [
      ['containers', 'name'],
      ['volumes', 'name'],
    ] as const) {
      for (const item of patch.spec?.[list] ?? []) {
        const inBase = (template.spec[list] as Array<Record<string, unknown>>).find((b) => b[key] === item[key])
        if (!inBase) continue
        assert.equal(repeated(item, inBase, key), [], `${file}: ${list} ${item[key]} repeats the base pod`)
        if (list === 'containers')
          for (const mount of item.volumeMounts ?? []) {
            const baseMounts = (inBase.volumeMounts ?? []) as Array<Record<string, unknown>>
            const old = baseMounts.find((m) => m.mountPath === mount.mountPath)
            if (old && !mount.$patch)
              assert.equal(repeated(mount, old, 'mountPath').length < Object.keys(mount).length - 1, true, file)
          }
      }
    }
  }
})

test("extends: dev's pod is dev_realauth's; a circle or an unknown environment is a one-line error", async () => {
  const pod = (name: string) => readEnvironmentPod(resolveEnvironment(name, repo))
  assert.equal(await pod('dev'), await pod('dev_realauth'))
  const root = tempDir()
  const write = (env: string, text: string) => {
    fs.mkdirSync(path.join(root, env), { recursive: true })
    fs.writeFileSync(path.join(root, env, 'pod.yaml'), text)
    return path.join(root, env, 'pod.yaml')
  }
  const a = write('a', 'extends: b\n')
  write('b', 'extends: a\n')
  const source = (file: string) => ({ podTemplate: repo.podTemplate, podPatch: file })
  try {
    await readEnvironmentPod(source(a))
    assert.unreachable('a circle of extends')
  } catch (error) {
    assert.match((error as Error).message, /extends goes round in a circle/)
  }
  const c = write('c', 'extends: nowhere\n')
  try {
    await readEnvironmentPod(source(c))
    assert.unreachable('extends of an environment that is not there')
  } catch (error) {
    assert.match((error as Error).message, /c\/pod\.yaml: extends "nowhere", which is no environment with a pod\.yaml$/)
  }
})

test.run()
