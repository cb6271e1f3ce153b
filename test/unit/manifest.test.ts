import fs from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import YAML from 'yaml'
import { configMapDoc, keyFiles, readPodTemplate, renderManifest } from '../../scripts/manifest.ts'
import { parseDevUsers } from '../../scripts/lib/dev-users.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'

const users = parseDevUsers('testuser.project1\ntestuser.project2  \r\n\notheruser.project1\n')
const client = { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nCLIENTSECRET\n-----END OPENSSH PRIVATE KEY-----\n', publicKey: 'ssh-ed25519 AAAAclient comment' }
const host = { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nHOSTSECRET\n-----END OPENSSH PRIVATE KEY-----\n', publicKey: 'ssh-ed25519 AAAAhost comment' }

async function render() {
  const text = renderManifest({ users, keys: { client, host }, devLoginPassword: 'pw123', pod: await readPodTemplate() })
  return YAML.parseAllDocuments(text).map((d) => d.toJS())
}

test('ConfigMap holds the dev users joined by single spaces', () => {
  const doc = configMapDoc(users) as { data: Record<string, string>; immutable: boolean; metadata: { name: string } }
  assert.equal(doc.metadata.name, 'dev-user-config')
  assert.is(doc.immutable, true)
  assert.equal(doc.data, { DEV_USER_CONFIG_UNIX_USERNAMES: 'testuser.project1 testuser.project2 otheruser.project1' })
})

test('key Secrets carry the four files in their exact formats', () => {
  assert.equal(keyFiles(client), {
    ssh_key: client.privateKey,
    'ssh_key.pub': 'ssh-ed25519 AAAAclient comment\n',
    localhost_known_hosts: 'localhost,127.0.0.1,::1 ssh-ed25519 AAAAclient comment\n',
    localhost_authorized_keys: 'from="localhost,127.0.0.1,::1" ssh-ed25519 AAAAclient comment\n',
  })
})

test('combined manifest: ConfigMap, three immutable Secrets, the Pod unchanged', async () => {
  const docs = await render()
  assert.equal(
    docs.map((d) => `${d.kind}/${d.metadata.name}`),
    [
      'ConfigMap/dev-user-config',
      'Secret/jupyterhub-slurm-ssh-client-key',
      'Secret/jupyterhub-slurm-ssh-host-key',
      'Secret/jupyterhub-dev-login',
      'Pod/jupyterhub-slurm',
    ],
  )
  for (const secret of docs.slice(1, 4)) assert.is(secret.immutable, true)
  assert.equal(docs[1].stringData, keyFiles(client))
  assert.equal(docs[2].stringData, keyFiles(host))
  assert.equal(docs[3].stringData, { password: 'pw123\n' })
  const template = YAML.parse(fs.readFileSync(repoPaths().podTemplate, 'utf8'))
  assert.equal(docs[4], template)
})

test('the Pod publishes only on 127.0.0.1 and mounts secrets with mode 0600', async () => {
  const pod = (await render())[4]
  const hub = pod.spec.containers.find((c: { name: string }) => c.name === 'jupyterhub')
  assert.equal(hub.ports, [{ containerPort: 8000, hostPort: 8000, hostIP: '127.0.0.1', protocol: 'TCP' }])
  for (const volume of pod.spec.volumes.filter((v: { secret?: unknown }) => v.secret)) {
    assert.is(volume.secret.defaultMode, 0o600)
    assert.is(volume.secret.optional, false)
  }
})

test.run()
