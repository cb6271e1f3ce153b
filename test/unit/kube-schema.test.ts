// Every document `npm run manifest` renders, for every environment, is what a
// Kubernetes API server accepts: checked against the API's own schemas
// (kubernetes-models), with DNS-1123 names wherever Kubernetes requires them.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ConfigMap, Pod, Secret } from 'kubernetes-models/v1'
import { renderEnvironmentManifest, repo } from '../helpers.ts'
import { listEnvironments, resolveEnvironment } from '../../scripts/lib/environment.ts'
import { DNS_LABEL } from '../../scripts/lib/names.ts'

/** A DNS-1123 subdomain (labels joined by '.', at most 253). */
const isDnsSubdomain = (name: string): boolean =>
  name.length <= 253 && name.split('.').every((label) => DNS_LABEL.test(label))

const models = { ConfigMap, Secret, Pod } as const

const renderedDocuments = async (envName: string) => (await renderEnvironmentManifest(envName)).docs

/** Every name in a document that Kubernetes requires to be DNS-1123, with what it is. */
function dnsNames(doc: Record<string, any>): Array<[string, string, 'label' | 'subdomain']> {
  const names: Array<[string, string, 'label' | 'subdomain']> = [[`${doc.kind} name`, doc.metadata.name, 'subdomain']]
  if (doc.kind !== 'Pod') return names
  for (const c of doc.spec.containers) {
    names.push(['container name', c.name, 'label'])
    for (const from of c.envFrom ?? [])
      if (from.configMapRef) names.push(['ConfigMap reference', from.configMapRef.name, 'subdomain'])
    for (const mount of c.volumeMounts ?? []) names.push(['volume mount', mount.name, 'label'])
  }
  for (const v of doc.spec.volumes) {
    names.push(['volume name', v.name, 'label'])
    if (v.persistentVolumeClaim) names.push(['claim name', v.persistentVolumeClaim.claimName, 'subdomain'])
    if (v.secret) names.push(['secret name', v.secret.secretName, 'subdomain'])
  }
  return names
}

const environments = listEnvironments(repo)

test('there are environments to check', () => {
  assert.ok(environments.length > 0)
})

for (const envName of environments) {
  test(`${envName}: every document validates against the Kubernetes API schema`, async () => {
    const docs = await renderedDocuments(envName)
    assert.equal([...new Set(docs.map((d) => d.kind))].sort(), ['ConfigMap', 'Pod', 'Secret'])
    for (const doc of docs) {
      assert.is(doc.apiVersion, 'v1', `${doc.kind} ${doc.metadata.name}`)
      const Model = models[doc.kind as keyof typeof models]
      assert.ok(Model, `unexpected kind ${doc.kind}`)
      try {
        new Model(doc as never).validate()
      } catch (error) {
        assert.unreachable(`${envName}: ${doc.kind} ${doc.metadata.name} is not valid: ${(error as Error).message}`)
      }
    }
  })

  test(`${envName}: every name Kubernetes requires to be DNS-1123 is one, and the environment's own`, async () => {
    const docs = await renderedDocuments(envName)
    for (const doc of docs) {
      for (const [what, name, form] of dnsNames(doc)) {
        const ok = form === 'label' ? DNS_LABEL.test(name) : isDnsSubdomain(name)
        assert.ok(ok, `${envName}: ${what} "${name}" is not a DNS-1123 ${form}`)
      }
    }
    const suffix = `-${envName.replaceAll('_', '-')}`
    // Slurm's node pods are the environment's pod's name with -node-<i> (lib/nodes.ts).
    const own = (name: string) => name.endsWith(suffix) || new RegExp(`${suffix}-node-\\d$`).test(name)
    for (const doc of docs)
      assert.ok(own(doc.metadata.name), `${doc.kind} ${doc.metadata.name} does not carry ${suffix}`)
  })
}

test('the schema check has teeth: a bad Pod and a bad Secret are refused', () => {
  assert.throws(() =>
    new Pod({
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 'eighty' as never }] }] },
    }).validate(),
  )
  assert.throws(() => new Secret({ metadata: { name: 's' }, stringData: { a: 1 as never } }).validate())
  assert.not.ok(DNS_LABEL.test('jupyterhub_root'))
  assert.not.ok(isDnsSubdomain('slurm_root'))
})

test('environments get distinct default ports', () => {
  const ports = environments.flatMap((e) =>
    [resolveEnvironment(e, repo).hostPort, resolveEnvironment(e, repo).hubApiHostPort].filter((p) => p !== undefined),
  )
  assert.is(new Set(ports).size, ports.length, ports.join(', '))
  assert.ok(fs.existsSync(path.join('config', environments[0] as string, 'launcher.yaml')))
})

test.run()
