// Which dev_realauth pod runs: with `oidcServer: dev-issuer` (committed) the
// development issuer and the login front, the front on the environment's
// port inside the pod too; with an outside issuer neither, and the hub is
// published as before. prod and the other environments never have them.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { POD_PORTS } from '../../scripts/lib/pod-facts.ts'
import type { DeployConfig, DeployKey } from '../../scripts/lib/deploy-config.ts'
import { checkFrontPort, podForIssuer } from '../../scripts/lib/dev-issuer.ts'
import { resolveEnvironment } from '../../scripts/lib/environment.ts'
import { readEnvironmentPod } from '../../scripts/lib/template.ts'
import { renderEnvironmentManifest, repo, tempDir } from '../helpers.ts'

const find = (docs: any[], kind: string, name?: string) =>
  docs.find((d) => d.kind === kind && (name === undefined || d.metadata.name === name))
const containers = (docs: any[]) => find(docs, 'Pod').spec.containers as any[]
const byName = (docs: any[], name: string) => containers(docs).find((c) => c.name === name)

function overlay(text: string): string {
  const file = path.join(tempDir(), 'site.yaml')
  fs.writeFileSync(file, text)
  return file
}

test('committed dev_realauth: issuer and front in the pod, the front alone on the port, the hub told the issuer URL', async () => {
  const { docs, env, use } = await renderEnvironmentManifest('dev_realauth')
  assert.equal(
    containers(docs).map((c) => c.name),
    ['jupyterhub', 'proxy', 'slurm', 'accounting', 'dev-issuer', 'login-front'],
  )
  assert.equal(byName(docs, 'login-front').ports, [
    { containerPort: 8001, hostPort: 8001, hostIP: '127.0.0.1', protocol: 'TCP' },
  ])
  assert.equal(byName(docs, 'proxy').ports, [{ containerPort: 8000, protocol: 'TCP' }])
  for (const name of ['dev-issuer', 'login-front'])
    assert.is(byName(docs, name).image, 'localhost/brics_jupyterhub:dev-latest')
  const deploy = find(docs, 'ConfigMap', env.names.configMaps.deployConfig).data
  assert.is(deploy.DEPLOY_CONFIG_OIDC_SERVER, 'http://127.0.0.1:8001/oidc')
  assert.is(deploy.DEPLOY_CONFIG_JWT_AUDIENCE, 'zenith-jupyter')
  assert.ok(use.secrets.includes('devLogin'), "the issuer's login takes the run's password")
  assert.ok(find(docs, 'Secret', env.names.secrets.devLogin))
})

test('another port moves the front, inside the pod too, and the issuer URL with it', async () => {
  const { docs, env } = await renderEnvironmentManifest('dev_realauth', undefined, 9123)
  assert.equal(byName(docs, 'login-front').ports[0], {
    containerPort: 9123,
    hostPort: 9123,
    hostIP: '127.0.0.1',
    protocol: 'TCP',
  })
  const deploy = find(docs, 'ConfigMap', env.names.configMaps.deployConfig).data
  assert.is(deploy.DEPLOY_CONFIG_OIDC_SERVER, 'http://127.0.0.1:9123/oidc')
})

test('an outside issuer: neither part runs, the hub is published as before, no login password', async () => {
  const site = overlay('oidcServer: https://issuer.example.org/realms/x\n')
  const { docs, env, use } = await renderEnvironmentManifest('dev_realauth', site)
  assert.equal(
    containers(docs).map((c) => c.name),
    ['jupyterhub', 'proxy', 'slurm', 'accounting'],
  )
  assert.equal(byName(docs, 'proxy').ports, [
    { containerPort: 8000, hostPort: 8001, hostIP: '127.0.0.1', protocol: 'TCP' },
  ])
  const deploy = find(docs, 'ConfigMap', env.names.configMaps.deployConfig).data
  assert.is(deploy.DEPLOY_CONFIG_OIDC_SERVER, 'https://issuer.example.org/realms/x')
  assert.not.ok(use.secrets.includes('devLogin'))
  assert.not.ok(find(docs, 'Secret', env.names.secrets.devLogin))
})

test('prod and the other environments never run them', async () => {
  for (const envName of ['prod', 'dev_dummyauth', 'dev_dummyauth_extslurm']) {
    const { docs } = await renderEnvironmentManifest(envName)
    const names = containers(docs).map((c) => c.name)
    assert.not.ok(names.includes('dev-issuer') || names.includes('login-front'), envName)
  }
  const prod = resolveEnvironment('prod', repo)
  const pod = await readEnvironmentPod(prod)
  assert.throws(
    () => podForIssuer(pod, new Map([['oidcServer', 'dev-issuer']]), 'prod'),
    /prod: oidcServer is dev-issuer, but its pod has no development issuer/,
  )
})

test('bad input: a port the pod uses, bad lifetimes or names, each one line', async () => {
  const env = resolveEnvironment('dev_realauth', repo)
  const template = await readEnvironmentPod(env)
  for (const port of Object.values(POD_PORTS))
    assert.throws(() => checkFrontPort(template, port), new RegExp(`port ${port} is used inside the pod`))
  const settings = (extra: Partial<Record<DeployKey, string>>): DeployConfig =>
    new Map([['oidcServer', 'dev-issuer'], ...Object.entries(extra)] as Array<[DeployKey, string]>)
  assert.throws(
    () => podForIssuer(template, settings({ devIssuerTokenLifetime: '5m' }), 'dev_realauth'),
    /devIssuerTokenLifetime must be a whole number of seconds, got "5m"/,
  )
  assert.throws(
    () =>
      podForIssuer(
        template,
        settings({ devIssuerTokenLifetime: '600', devIssuerSessionLifetime: '60' }),
        'dev_realauth',
      ),
    /devIssuerSessionLifetime must not be shorter/,
  )
  assert.throws(
    () => podForIssuer(template, settings({ devIssuerOtherProjects: 'Outsider.x' }), 'dev_realauth'),
    /devIssuerOtherProjects.*not a valid user name/,
  )
})

test.run()
