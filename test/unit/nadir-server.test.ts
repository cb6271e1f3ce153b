// dev_realauth_nadir's stand-in Nadir server (docs/nadir.md): the manifest
// holds a second pod, the server, with sshd, the issuer and the login front,
// publishing the environment's port; the hub's pod publishes nothing and
// reaches the issuer through its relay; the tunnel's key is the run's own.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { resolveEnvironment } from '../../scripts/lib/environment.ts'
import { planRender } from '../../scripts/lib/manifest-input.ts'
import { nadirServerPodName, networkName, resourceNames } from '../../scripts/lib/names.ts'
import { nodePodName } from '../../scripts/lib/nodes.ts'
import { resourcesOf } from '../../scripts/lib/inventory.ts'
import { relaySettings } from '../../brics_jupyterhub/dev-login/relay.mjs'
import { envVarOf } from '../../scripts/lib/deploy-config.ts'
import { podFactsData } from '../../scripts/lib/pod-facts.ts'
import { renderEnvironmentManifest, repo } from '../helpers.ts'

type Container = { name: string; image: string; ports?: Array<{ containerPort: number; hostPort?: number }> }
type Pod = { kind: string; metadata: { name: string }; spec: { containers: Container[] } }
const published = (pod: Pod) => pod.spec.containers.flatMap((c) => (c.ports ?? []).flatMap((p) => p.hostPort ?? []))
const names = resourceNames('dev_realauth_nadir')

test('the server pod has sshd, the issuer and the front on the port; the hub pod publishes nothing', async () => {
  const { docs } = await renderEnvironmentManifest('dev_realauth_nadir')
  const pods = docs.filter((d: Pod) => d.kind === 'Pod') as Pod[]
  assert.equal(
    pods.map((p) => p.metadata.name),
    // Then the two Slurm nodes of the default slurmNodes (lib/nodes.ts).
    [names.pod, nadirServerPodName(names), nodePodName(names, 1), nodePodName(names, 2)],
  )
  const [hub, server] = pods as [Pod, Pod]
  const containers = (p: Pod) => p.spec.containers.map((c) => c.name)
  assert.equal(containers(server), ['dev-issuer', 'login-front', 'nadir-server'])
  assert.ok(containers(hub).includes('nadir-client'))
  assert.ok(containers(hub).includes('issuer-relay'))
  assert.not.ok(containers(hub).some((c) => ['dev-issuer', 'login-front'].includes(c)))
  assert.equal(published(hub), [])
  assert.equal(published(server), [8005])
  const relay = hub.spec.containers.find((c) => c.name === 'issuer-relay') as unknown as {
    env: Array<{ name: string; value: string }>
  }
  assert.equal(relay.env, [{ name: 'ISSUER_RELAY_TO', value: nadirServerPodName(names) }])
  const deploy = docs.find((d: { metadata?: { name?: string } }) => d.metadata?.name === names.configMaps.deployConfig)
  assert.is(deploy.data.DEPLOY_CONFIG_OIDC_SERVER, 'http://127.0.0.1:8005/oidc')
})

test("the server mounts the tunnel key's Secret with the client's mode: one file backs both pods' mounts", async () => {
  const { docs } = await renderEnvironmentManifest('dev_realauth_nadir')
  type Volume = { name: string; secret?: { defaultMode?: number } }
  // The hub's pod and the server's, the two that mount it.
  const [hub, server] = docs.filter((d: Pod) => d.kind === 'Pod') as Array<{ spec: { volumes?: Volume[] } }>
  const keyMode = (p?: { spec: { volumes?: Volume[] } }) =>
    p?.spec.volumes?.find((v) => v.name === 'ssh-nadir-key')?.secret?.defaultMode
  assert.equal([keyMode(hub), keyMode(server)], [0o600, 0o600])
})

test('the launcher makes the tunnel: the operator files are refused, the server is the pod on the network', async () => {
  const env = resolveEnvironment('dev_realauth_nadir', repo)
  const settings = { tag: 'dev-latest', registry: 'localhost', clusterFiles: {} }
  const plan = await planRender(env, settings, repo, 'manifest')
  assert.ok(plan.server)
  assert.is(plan.nadir, undefined)
  await planRender(env, { ...settings, nadirFiles: { sshKey: '/nonexistent' } }, repo, 'manifest').then(
    () => assert.unreachable('accepted --nadir-ssh-key'),
    (error: Error) => assert.match(error.message, /brings up its own stand-in Nadir server/),
  )
  // down and a failed up remove the server pod and the network with the rest.
  const resources = resourcesOf(names).map((r) => `${r.kind} ${r.name}`)
  assert.ok(resources.includes(`pod ${nadirServerPodName(names)}`))
  assert.ok(resources.includes(`network ${networkName(names)}`))
})

test('an outside issuer: no stand-in server, and the operator files are needed as in prod', async () => {
  const env = resolveEnvironment('dev_realauth_nadir', repo)
  const file = `${process.env.TMPDIR ?? '/tmp'}/nadir-outside-issuer.yaml`
  const fs = await import('node:fs')
  fs.writeFileSync(file, 'oidcServer: https://issuer.example.org/realms/x\n')
  const { deployConfigOverlay } = await import('../../scripts/lib/deploy-config.ts')
  const plan = await planRender(
    env,
    { tag: 'dev-latest', registry: 'localhost', clusterFiles: {}, deployConfig: deployConfigOverlay(file) },
    repo,
    'manifest',
  )
  assert.is(plan.server, undefined)
})

test('the relay listens where the hub is told the issuer is, and passes to the server', () => {
  assert.equal(
    relaySettings({
      ...podFactsData(),
      [envVarOf('oidcServer')]: 'http://127.0.0.1:8005/oidc',
      ISSUER_RELAY_TO: 'nadir-server-x',
    }),
    { listenHost: '127.0.0.1', port: 8005, to: 'nadir-server-x' },
  )
  assert.throws(() =>
    relaySettings({
      ...podFactsData(),
      [envVarOf('oidcServer')]: 'http://127.0.0.1:8005/oidc',
      ISSUER_RELAY_TO: 'a b',
    }),
  )
})

test.run()
