import fs from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import YAML from 'yaml'
import path from 'node:path'
import { readClusterAccess } from '../../scripts/lib/cluster-access.ts'
import { podFactsData } from '../../scripts/lib/pod-facts.ts'
import { deployConfigDoc, devUsersConfigMapDoc, keyFiles, renderManifest } from '../../scripts/lib/render.ts'
import { readEnvironmentPod, readPodTemplate as readTemplate, usesExternalSlurm } from '../../scripts/lib/template.ts'
import { resolveEnvironment } from '../../scripts/lib/environment.ts'
import { envVarOf, parseDeployConfig, resolveDeployConfig } from '../../scripts/lib/deploy-config.ts'
import { parseDevUsers } from '../../scripts/lib/dev-users.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { resourceNames, TEMPLATE_NAMES } from '../../scripts/lib/names.ts'
import { OPERATOR_KEY, OPERATOR_KNOWN_HOSTS, renderEnvironmentManifest, repo, tempDir } from '../helpers.ts'

const readPodTemplate = (file = repo.podTemplate) => readTemplate(file)

const users = parseDevUsers('testuser.project1\ntestuser.project2  \r\n\notheruser.project1\n')
const client = {
  privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nCLIENTSECRET\n-----END OPENSSH PRIVATE KEY-----\n',
  publicKey: 'ssh-ed25519 AAAAclient comment',
}
const deployConfig = parseDeployConfig('oidcServer: https://issuer.example/realms/r\njwtLeeway: 5\n', 'test')
const host = {
  privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nHOSTSECRET\n-----END OPENSSH PRIVATE KEY-----\n',
  publicKey: 'ssh-ed25519 AAAAhost comment',
}

const names = resourceNames('dev_dummyauth')

async function render() {
  const text = renderManifest({
    names,
    ports: { proxy: 8123 },
    users,
    deployConfig,
    keys: { client, host },
    devLoginPassword: 'pw123',
    mungeKey: 'MUNGEKEY123',
    proxyAuthToken: 'PROXYTOKEN123',
    pod: await readPodTemplate(),
  })
  return YAML.parseAllDocuments(text).map((d) => d.toJS())
}

test('ConfigMap holds the dev users joined by single spaces', () => {
  const doc = devUsersConfigMapDoc('dev-user-config-x', users) as {
    data: Record<string, string>
    immutable: boolean
    metadata: { name: string }
  }
  assert.equal(doc.metadata.name, 'dev-user-config-x')
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

/** A document of the manifest by kind and name. */
function docOf(docs: Array<Record<string, any>>, kind: string, name: string): Record<string, any> {
  const doc = docs.find((d) => d.kind === kind && d.metadata.name === name)
  if (!doc) throw new Error(`no ${kind} ${name} in the manifest`)
  return doc
}
function podOf(docs: Array<Record<string, any>>): Record<string, any> {
  const pod = docs.find((d) => d.kind === 'Pod')
  if (!pod) throw new Error('no Pod in the manifest')
  return pod
}

test('combined manifest: three ConfigMaps, five immutable Secrets, the Pod, all named after the environment', async () => {
  const docs = await render()
  assert.equal(
    docs.map((d) => `${d.kind}/${d.metadata.name}`),
    [
      'ConfigMap/dev-user-config-dev-dummyauth',
      'ConfigMap/deploy-config-dev-dummyauth',
      'ConfigMap/pod-facts-dev-dummyauth',
      'Secret/jupyterhub-slurm-ssh-client-key-dev-dummyauth',
      'Secret/jupyterhub-slurm-ssh-host-key-dev-dummyauth',
      'Secret/jupyterhub-slurm-dev-login-dev-dummyauth',
      'Secret/jupyterhub-slurm-munge-key-dev-dummyauth',
      'Secret/jupyterhub-slurm-proxy-auth-token-dev-dummyauth',
      'Pod/jupyterhub-slurm-dev-dummyauth',
    ],
  )
  assert.equal(docs[1].data, {
    DEPLOY_CONFIG_OIDC_SERVER: 'https://issuer.example/realms/r',
    DEPLOY_CONFIG_JWT_LEEWAY: '5',
  })
  // What the launcher and the pod's programs agree on, from the one source.
  assert.equal(docs[2].data, podFactsData())
  assert.is(docs[2].immutable, true)
  for (const secret of docs.slice(3, 8)) assert.is(secret.immutable, true)
  assert.equal(docs[3].stringData, keyFiles(client))
  assert.equal(docs[4].stringData, keyFiles(host))
  assert.equal(docs[5].stringData, { password: 'pw123\n' })
  assert.equal(docs[6].stringData, { 'munge.key': 'MUNGEKEY123' })
  assert.equal(docs[7].stringData, { token: 'PROXYTOKEN123' })
  // The Pod is the template with only names, labels and the host port changed.
  const template = YAML.parse(fs.readFileSync(repoPaths().podTemplate, 'utf8'))
  const pod = docs[8]
  assert.equal(pod.metadata.labels, {
    ...template.metadata.labels,
    'jh-slurm-pod/environment': 'dev_dummyauth',
    'jh-slurm-pod/host-port': '8123',
    'jh-slurm-pod/base-url': 'jupyter',
  })
  const back = JSON.stringify(pod)
    .replaceAll('-dev-dummyauth', '')
    .replaceAll('jupyterhub-slurm-ssh-client-key', 'ssh-client-key')
    .replaceAll('jupyterhub-slurm-ssh-host-key', 'ssh-host-key')
    .replaceAll('jupyterhub-slurm-dev-login', 'dev-login')
    .replaceAll('jupyterhub-slurm-munge-key', 'munge-key')
    .replaceAll('jupyterhub-slurm-proxy-auth-token', 'proxy-auth-token')
    .replace('"hostPort":8123', '"hostPort":8000')
  assert.equal({ ...JSON.parse(back), metadata: template.metadata }, template)
})

test('a pod template naming something the launcher does not make is refused', async () => {
  const template = await readPodTemplate()
  const spec = template.spec as { volumes: Array<{ secret?: { secretName: string } }> }
  const secret = spec.volumes.find((v) => v.secret)?.secret as { secretName: string }
  secret.secretName = 'my-own-secret'
  assert.throws(
    () =>
      renderManifest({
        names,
        ports: { proxy: 8000 },
        users,
        deployConfig,
        keys: { client, host },
        devLoginPassword: 'pw',
        mungeKey: 'k',
        proxyAuthToken: 't',
        pod: template,
      }),
    new RegExp(
      `refers to Secret "my-own-secret", which the launcher does not make \\(it makes: ${Object.values(TEMPLATE_NAMES.secrets).join(', ')}\\)`,
    ),
  )
})

test('the Pod publishes only on 127.0.0.1 and mounts secrets with mode 0600', async () => {
  const pod = podOf(await render())
  const proxy = pod.spec.containers.find((c: { name: string }) => c.name === 'proxy')
  assert.equal(proxy.ports, [{ containerPort: 8000, hostPort: 8123, hostIP: '127.0.0.1', protocol: 'TCP' }])
  const published = pod.spec.containers.flatMap((c: { ports?: unknown[] }) => c.ports ?? [])
  assert.is(published.length, 1, 'the proxy alone is published')
  for (const volume of pod.spec.volumes.filter((v: { secret?: unknown }) => v.secret)) {
    assert.is(volume.secret.defaultMode, 0o600)
    assert.is(volume.secret.optional, false)
  }
})

test('deploy settings become DEPLOY_CONFIG_<UPPER_SNAKE> variables of the hub', async () => {
  assert.is(envVarOf('oidcServer'), 'DEPLOY_CONFIG_OIDC_SERVER')
  assert.is(envVarOf('bricsPlatform'), 'DEPLOY_CONFIG_BRICS_PLATFORM')
  const doc = deployConfigDoc('deploy-config-x', deployConfig) as { metadata: { name: string }; immutable: boolean }
  assert.is(doc.metadata.name, 'deploy-config-x')
  assert.is(doc.immutable, true)
  const hub = podOf(await render()).spec as {
    containers: Array<{ name: string; envFrom: Array<{ configMapRef: { name: string } }> }>
  }
  const refs = hub.containers.find((c) => c.name === 'jupyterhub')?.envFrom.map((e) => e.configMapRef.name)
  assert.equal(refs, ['dev-user-config-dev-dummyauth', 'deploy-config-dev-dummyauth', 'pod-facts-dev-dummyauth'])
})

test("dev_realauth commits the cluster settings and bricsauthenticator's four; a site file overrides them", () => {
  const configDir = path.join(repoPaths().config, 'dev_realauth')
  const own = resolveDeployConfig(configDir)
  assert.equal(
    [...own.keys()],
    [
      'logLevel',
      'baseUrl',
      'slurmProjectLimits',
      'sshHostname',
      'slurmSpawnerWrappersBin',
      'jupyterUserEnvDir',
      'jupyterDataDir',
      'oidcServer',
      'bricsPlatform',
      'jwtAudience',
      'jwtLeeway',
      'devIssuerOtherProjects',
      'devIssuerTokenLifetime',
      'devIssuerSessionLifetime',
      'announcement',
    ],
  )
  assert.is(own.get('oidcServer'), 'dev-issuer', 'out of the box, the development issuer in the pod')
  const dir = tempDir()
  const site = path.join(dir, 'site.yaml')
  fs.writeFileSync(site, 'oidcServer: http://issuer.test:8080/realms/dev\n')
  const merged = resolveDeployConfig(configDir, { file: site })
  assert.is(merged.get('oidcServer'), 'http://issuer.test:8080/realms/dev')
  assert.is(merged.get('jwtAudience'), 'zenith-jupyter')
  fs.rmSync(dir, { recursive: true })
})

test('deploy settings: unknown keys, keys the environment does not use and bad files are one-line errors', () => {
  assert.throws(
    () => parseDeployConfig('oidcServr: x\n', 'f.yaml'),
    /f\.yaml: unknown deploy setting oidcServr; fix or remove it \(known: logLevel, sshHostname, .*oidcServer/,
  )
  assert.throws(() => parseDeployConfig('- a\n', 'f.yaml'), /f\.yaml: expected a mapping of settings/)
  assert.throws(
    () => parseDeployConfig('jwtLeeway: [1]\n', 'f.yaml'),
    /f\.yaml: jwtLeeway must be a string, a number or true\/false$/,
  )
  assert.is(parseDeployConfig('bricsPlatform: true\n', 'f.yaml').get('bricsPlatform'), 'true', 'a boolean is taken')
  const dir = tempDir()
  const site = path.join(dir, 'site.yaml')
  fs.writeFileSync(site, 'oidcServer: http://x\n')
  assert.throws(
    () => resolveDeployConfig(path.join(repoPaths().config, 'dev_dummyauth'), { file: site }),
    /oidcServer is not a setting of this environment; remove it \(the environment uses: logLevel, baseUrl, slurmProjectLimits, sshHostname, slurmSpawnerWrappersBin, jupyterUserEnvDir, jupyterDataDir, announcement\)/,
  )
  assert.throws(
    () => resolveDeployConfig(path.join(repoPaths().config, 'dev_dummyauth'), { file: path.join(dir, 'missing.yaml') }),
    /cannot read deploy settings .*missing\.yaml: no such file/,
  )
  fs.rmSync(dir, { recursive: true })
})

const kinds = (docs: Array<Record<string, any>>) => docs.map((d) => `${d.kind}/${d.metadata.name}`)

test("dev_dummyauth_extslurm: the hub alone, with the operator's key and the cluster's host key, its API published", async () => {
  const { use, docs } = await renderEnvironmentManifest('dev_dummyauth_extslurm')
  assert.equal(use.images, ['jupyterhub'])
  assert.equal(use.volumes, ['jupyterhub'])
  assert.ok(usesExternalSlurm(use))
  assert.equal(kinds(docs), [
    'ConfigMap/dev-user-config-dev-dummyauth-extslurm',
    'ConfigMap/deploy-config-dev-dummyauth-extslurm',
    'ConfigMap/pod-facts-dev-dummyauth-extslurm',
    'Secret/jupyterhub-slurm-ssh-client-key-dev-dummyauth-extslurm',
    'Secret/jupyterhub-slurm-ssh-known-hosts-dev-dummyauth-extslurm',
    'Secret/jupyterhub-slurm-dev-login-dev-dummyauth-extslurm',
    'Secret/jupyterhub-slurm-proxy-auth-token-dev-dummyauth-extslurm',
    'Pod/jupyterhub-slurm-dev-dummyauth-extslurm',
  ])
  const extslurm = resourceNames('dev_dummyauth_extslurm')
  assert.equal(docOf(docs, 'Secret', extslurm.secrets.clientKey).stringData, {
    ssh_key: OPERATOR_KEY.privateKey,
    'ssh_key.pub': `${OPERATOR_KEY.publicKey}\n`,
  })
  assert.equal(docOf(docs, 'Secret', extslurm.secrets.knownHosts).stringData, { ssh_known_hosts: OPERATOR_KNOWN_HOSTS })
  const pod = podOf(docs)
  assert.equal(
    pod.spec.containers.map((c: { name: string }) => c.name),
    ['jupyterhub', 'proxy'],
  )
  const hostPorts = (name: string) =>
    pod.spec.containers
      .find((c: { name: string }) => c.name === name)
      .ports.map((p: { hostPort: number }) => p.hostPort)
  assert.equal(hostPorts('jupyterhub'), [8082])
  assert.equal(hostPorts('proxy'), [8002])
  assert.match(
    JSON.stringify(docOf(docs, 'ConfigMap', extslurm.configMaps.deployConfig).data),
    /DEPLOY_CONFIG_SSH_HOSTNAME/,
  )
  assert.not.match(JSON.stringify(docs), /HOSTSECRET/)
})

test("prod: stage-prod image under the pipeline's tag, no dev users, no dummy login, real authentication settings", async () => {
  const env = resolveEnvironment('prod', repo)
  assert.is(env.target, 'stage-prod')
  const { docs } = await renderEnvironmentManifest('prod')
  assert.equal(kinds(docs), [
    'ConfigMap/deploy-config-prod',
    'ConfigMap/pod-facts-prod',
    'Secret/jupyterhub-slurm-ssh-client-key-prod',
    'Secret/jupyterhub-slurm-ssh-known-hosts-prod',
    'Secret/jupyterhub-slurm-ssh-nadir-key-prod',
    'Secret/jupyterhub-slurm-nadir-config-prod',
    'Pod/jupyterhub-slurm-prod',
  ])
  assert.is(podOf(docs).spec.containers[0].image, 'localhost/brics_jupyterhub:prod-latest')
  const data = docOf(docs, 'ConfigMap', 'deploy-config-prod').data as Record<string, string>
  for (const key of [
    'DEPLOY_CONFIG_OIDC_SERVER',
    'DEPLOY_CONFIG_BRICS_PLATFORM',
    'DEPLOY_CONFIG_JWT_AUDIENCE',
    'DEPLOY_CONFIG_SSH_HOSTNAME',
    'DEPLOY_CONFIG_HUB_CONNECT_URL',
  ])
    assert.ok(data[key], key)
  assert.not.match(JSON.stringify(docs), /dev-user-config|dev-login|DEV_USER_CONFIG/)
})

test('secrets made elsewhere are left out of the manifest, and nothing else is', async () => {
  const env = resolveEnvironment('prod', repo)
  const pod = await readEnvironmentPod(env)
  const text = renderManifest({
    names: env.names,
    ports: { proxy: 1, hubApi: 2 },
    deployConfig: resolveDeployConfig(env.configDir),
    omitSecrets: ['clientKey', 'knownHosts', 'nadirKey', 'nadirConfig'],
    pod,
  })
  assert.equal(kinds(YAML.parseAllDocuments(text).map((d) => d.toJS())), [
    'ConfigMap/deploy-config-prod',
    'ConfigMap/pod-facts-prod',
    'Pod/jupyterhub-slurm-prod',
  ])
})

test("an external-Slurm environment without the operator's files is refused with what to give", async () => {
  await readClusterAccess('prod', {}).then(
    () => assert.unreachable(),
    (e: Error & { exitCode: number }) => {
      assert.match(
        e.message,
        /prod runs its jobs on a Slurm cluster outside the pod: give the hub's SSH key with --ssh-client-key FILE \(or JH_SLURM_SSH_CLIENT_KEY\) and the login node's host key with --ssh-known-hosts FILE/,
      )
      assert.is(e.exitCode, 2)
    },
  )
  const dir = tempDir()
  fs.writeFileSync(path.join(dir, 'not-a-key'), 'hello\n')
  fs.writeFileSync(path.join(dir, 'known_hosts'), 'login.example ssh-ed25519 AAAA\n')
  await readClusterAccess('prod', {
    clientKey: path.join(dir, 'not-a-key'),
    knownHosts: path.join(dir, 'known_hosts'),
  }).then(
    () => assert.unreachable(),
    (e: Error) =>
      assert.match(e.message, /not-a-key \(--ssh-client-key \(JH_SLURM_SSH_CLIENT_KEY\)\) is not an SSH private key/),
  )
  await readClusterAccess('prod', {
    clientKey: path.join(dir, 'missing'),
    knownHosts: path.join(dir, 'known_hosts'),
  }).then(
    () => assert.unreachable(),
    (e: Error) =>
      assert.match(
        e.message,
        /cannot read SSH client key given with --ssh-client-key \(JH_SLURM_SSH_CLIENT_KEY\) .*missing: no such file/,
      ),
  )
  fs.rmSync(dir, { recursive: true })
})

type PodContainer = { name: string; volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }> }

test('pods that run jobs keep service ports for root, get their own MUNGE key, and reap orphans', async () => {
  for (const envName of ['dev_dummyauth', 'dev_realauth']) {
    const { docs } = await renderEnvironmentManifest(envName)
    const pod = docs.find((d) => d.kind === 'Pod')
    assert.equal(pod.spec.securityContext.sysctls, [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '16384' }])
    const ports = pod.spec.containers.flatMap((c: { ports?: Array<{ containerPort: number }> }) =>
      (c.ports ?? []).map((p) => p.containerPort),
    )
    for (const port of ports) assert.ok(port < 16384, `${envName}: port ${port} is open to jobs`)
    const slurm = pod.spec.containers.find((c: PodContainer) => c.name === 'slurm') as PodContainer
    const munge = slurm.volumeMounts?.find((m) => m.mountPath === '/etc/slurm-pod/munge.key')
    assert.equal(munge, {
      name: 'munge-key',
      mountPath: '/etc/slurm-pod/munge.key',
      subPath: 'munge.key',
      readOnly: true,
    } as never)
    const secret = docs.find((d) => d.kind === 'Secret' && d.metadata.name === resourceNames(envName).secrets.munge)
    assert.equal(Object.keys(secret.stringData), ['munge.key'])
    // Only the containers that run children get an init process.
    const inits = Object.keys(pod.metadata.annotations).filter((a) => a.startsWith('io.podman.annotations.init/'))
    assert.equal(inits, [
      'io.podman.annotations.init/jupyterhub',
      'io.podman.annotations.init/slurm',
      'io.podman.annotations.init/accounting',
    ])
  }
})

test('hub-only pods get no MUNGE key but still reap orphans in the hub container', async () => {
  const { docs } = await renderEnvironmentManifest('dev_dummyauth_extslurm')
  assert.not.ok(docs.some((d) => d.kind === 'Secret' && /munge/.test(d.metadata.name)))
  const pod = docs.find((d) => d.kind === 'Pod')
  assert.equal(pod.metadata.annotations, { 'io.podman.annotations.init/jupyterhub': 'true' })
})

test("a login front on a port open to users' jobs is refused before anything is made", async () => {
  try {
    await renderEnvironmentManifest('dev_realauth', undefined, 16384)
    assert.unreachable('the front was placed on a port jobs may take')
  } catch (error) {
    assert.match(
      (error as Error).message,
      /^port 16384 is open to users' jobs inside the pod \(only ports below 16384 are kept for root\); the login front needs a port below 16384 \(--port\)$/,
    )
  }
  // The port just below the line is the front's to take.
  await renderEnvironmentManifest('dev_realauth', undefined, 16383)
})

test.run()
