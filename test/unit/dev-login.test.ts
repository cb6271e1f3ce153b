// dev_realauth's development issuer and login front, run on the host with the
// same oidc-provider, openid-client and http-proxy-3 the hub image installs
// (the root package pins the same versions; a test below holds them equal).
// The issuer's discovery is checked against OpenID Connect Discovery 1.0, and
// its ID tokens are verified with jose, which the issuer does not use. The
// hub behind the front is a small server that shows what reached it.
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createFront } from '../../brics_jupyterhub/dev-login/front.mjs'
import { createIssuer, projectsClaim } from '../../brics_jupyterhub/dev-login/issuer.mjs'
import { readSettings, SettingsError } from '../../brics_jupyterhub/dev-login/settings.mjs'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { formAction, HubClient } from '../e2e/lib/browserless.ts'

const PASSWORD = 'the-runs-password'
const PLATFORM = 'brics.aip1.notebooks.shared'
const AUDIENCE = 'zenith-jupyter'

const listen = (server: http.Server, port = 0): Promise<number> =>
  new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)))

async function freePort(): Promise<number> {
  const server = http.createServer()
  const port = await listen(server)
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Stands in for the hub's proxy: answers with the path and the token it got. */
const hub = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ path: req.url, token: req.headers['x-auth-id-token'] ?? null }))
})

const servers: http.Server[] = [hub]
/** What the issuer and the front logged (their containers' output in the pod). */
const logged: string[] = []
let settings: ReturnType<typeof readSettings>
let base = ''

function settingsFor(port: number, extra: Record<string, string> = {}) {
  return readSettings({
    DEPLOY_CONFIG_OIDC_SERVER: `http://127.0.0.1:${port}/oidc`,
    DEPLOY_CONFIG_JWT_AUDIENCE: AUDIENCE,
    DEPLOY_CONFIG_BRICS_PLATFORM: PLATFORM,
    DEV_USER_CONFIG_UNIX_USERNAMES: 'testuser.project1 testuser.project2 otheruser.project1',
    DEPLOY_CONFIG_DEV_ISSUER_OTHER_PROJECTS: 'testuser.project9 outsider.elsewhere',
    DEPLOY_CONFIG_DEV_ISSUER_TOKEN_LIFETIME: String(TOKEN_LIFETIME),
    DEPLOY_CONFIG_DEV_ISSUER_SESSION_LIFETIME: '5',
    ...extra,
  })
}

/** An issuer and a front in front of the stand-in hub, as the pod runs them; returns the front's URL. */
async function startPair(extra: Record<string, string> = {}) {
  const frontPort = await freePort()
  const hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`
  const pair = { ...settingsFor(frontPort, extra), issuerPort: await freePort(), hubUrl }
  const issuerServer = http.createServer(createIssuer(pair, PASSWORD, (line) => logged.push(`issuer ${line}`)).handler)
  const front = createFront(pair, (line) => logged.push(`front ${line}`))
  servers.push(issuerServer, front)
  await listen(issuerServer, pair.issuerPort)
  await listen(front, frontPort)
  return { settings: pair, base: `http://127.0.0.1:${frontPort}/` }
}

test.before(async () => {
  await listen(hub)
  ;({ settings, base } = await startPair())
})

test.after(() => {
  for (const server of servers) server.closeAllConnections?.()
  for (const server of servers) server.close()
})

/** Logs in at the issuer's form as a browser does; returns the client and the last page. */
async function logIn(user: string, password = PASSWORD) {
  const client = new HubClient(base)
  const form = await client.request('jupyter/hub/spawn')
  assert.match(form.url, /\/oidc\/interaction\//, 'a browser without a session lands on the issuer login')
  assert.match(form.body, /name="password"/)
  const after = await client.request(formAction(form.body), { form: { username: user, password } })
  return { client, after }
}

const tokenOf = (response: { body: string }): string => JSON.parse(response.body).token

async function verified(token: string) {
  const discovery = await (await fetch(`${settings.issuer}/.well-known/openid-configuration`)).json()
  const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri))
  return (await jwtVerify(token, jwks, { issuer: settings.issuer, audience: AUDIENCE })).payload
}

// Short lifetimes keep the renewal and expiry tests quick: renewal comes in a token's last third.
const TOKEN_LIFETIME = 3

test('discovery is an OpenID Connect discovery document for the issuer URL, served through the front', async () => {
  const response = await fetch(`${settings.issuer}/.well-known/openid-configuration`)
  assert.is(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /application\/json/)
  const doc = await response.json()
  // OpenID Connect Discovery 1.0, section 3: required metadata, and issuer identical to the URL asked.
  assert.is(doc.issuer, settings.issuer)
  for (const key of ['authorization_endpoint', 'token_endpoint', 'jwks_uri']) {
    assert.type(doc[key], 'string', key)
    assert.ok(doc[key].startsWith(`${settings.issuer}/`), `${key} is under the issuer: ${doc[key]}`)
  }
  for (const key of ['response_types_supported', 'subject_types_supported', 'id_token_signing_alg_values_supported'])
    assert.ok(Array.isArray(doc[key]) && doc[key].length > 0, `${key} is a non-empty array`)
  assert.ok(doc.response_types_supported.includes('code'))
  assert.ok(doc.id_token_signing_alg_values_supported.includes('RS256'))
  assert.not.ok(doc.id_token_signing_alg_values_supported.includes('none'))
  assert.ok(doc.claims_supported.includes('short_name') && doc.claims_supported.includes('projects'))
  const jwks = await (await fetch(doc.jwks_uri)).json()
  assert.ok(jwks.keys.length > 0 && jwks.keys.every((k: Record<string, unknown>) => k.kid && !('d' in k)))
})

test('the login asks for the password: a wrong one or an unknown user is refused', async () => {
  const wrong = await logIn('testuser', 'not-it')
  assert.is(wrong.after.status, 401)
  assert.match(wrong.after.body, /Wrong user name or password/)
  const unknown = await logIn('nobody', PASSWORD)
  assert.is(unknown.after.status, 401)
  assert.ok(logged.includes('issuer login refused: wrong password for testuser'), logged.join('\n'))
  assert.ok(logged.includes('issuer login refused: unknown user "nobody"'), logged.join('\n'))
  assert.not.ok(
    logged.some((line) => line.includes(PASSWORD)),
    'no password in the log',
  )
})

test('after the login every request reaches the hub with an ID token that verifies with jose', async () => {
  const { client, after } = await logIn('testuser')
  assert.is(after.url, `${base}jupyter/hub/spawn`, 'the login returns to the page asked for')
  const claims = await verified(tokenOf(after))
  assert.is(claims.short_name, 'testuser')
  assert.ok(logged.includes('issuer login: testuser'), logged.join('\n'))
  assert.ok(logged.includes('front session opened: testuser, for 5 s'), logged.join('\n'))
  assert.equal(claims.projects, projectsClaim(settings, 'testuser'))
  assert.equal(claims.projects, {
    'project1.brics': {
      name: 'Dev project project1',
      resources: [{ name: PLATFORM, username: 'testuser.project1' }],
    },
    'project2.brics': {
      name: 'Dev project project2',
      resources: [{ name: PLATFORM, username: 'testuser.project2' }],
    },
    'project9.brics': {
      name: 'Dev project project9',
      resources: [{ name: 'brics.elsewhere.clusters.shared', username: 'testuser.project9' }],
    },
  })
  for (const claim of ['aud', 'exp', 'iss', 'iat']) assert.ok(claim in claims, claim)
  assert.is((claims.exp as number) - (claims.iat as number), TOKEN_LIFETIME, 'the token lives as long as configured')
  // A token the browser sends itself is replaced by the session's.
  const forged = await client.request('jupyter/hub/home', { headers: { 'X-Auth-Id-Token': 'forged' } })
  assert.is.not(tokenOf(forged), 'forged')
  await verified(tokenOf(forged))
})

test('a user with only off-platform projects gets a token whose projects are all elsewhere', async () => {
  const { after } = await logIn('outsider')
  const claims = await verified(tokenOf(after))
  const resources = Object.values(claims.projects as Record<string, { resources: Array<{ name: string }> }>).flatMap(
    (p) => p.resources.map((r) => r.name),
  )
  assert.equal(resources, ['brics.elsewhere.clusters.shared'])
})

test('without a session: the health check passes, a script gets 401, a forged token gets nowhere', async () => {
  const health = await new HubClient(base).request('jupyter/hub/health')
  assert.is(JSON.parse(health.body).token, null)
  const script = await new HubClient(base).request('jupyter/hub/api/user', { headers: { 'sec-fetch-mode': 'cors' } })
  assert.is(script.status, 401)
  const forged = await new HubClient(base).request('jupyter/hub/home', { headers: { 'X-Auth-Id-Token': 'forged' } })
  assert.match(forged.url, /\/oidc\/interaction\//)
})

test('another host name for the same port is sent to the one the issuer URL names', async () => {
  const port = new URL(base).port
  // As a browser sends it (fetch would say it is a script's request), with another name for the host.
  const headers = { host: `localhost:${port}`, 'sec-fetch-mode': 'navigate' }
  const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
    http.get({ host: '127.0.0.1', port, path: '/jupyter/hub/home', headers }, resolve).on('error', reject),
  )
  response.resume()
  assert.is(response.statusCode, 302)
  assert.is(response.headers.location, `http://127.0.0.1:${port}/jupyter/hub/home`)
})

test('the token is renewed before it expires; when the session ends, the login comes back', async () => {
  const { client, after } = await logIn('testuser')
  const first = decodeJwt(tokenOf(after))
  await new Promise((resolve) => setTimeout(resolve, 2300))
  const renewed = await client.request('jupyter/hub/home')
  const second = await verified(tokenOf(renewed))
  assert.ok((second.exp as number) > (first.exp as number), 'a fresh token replaced the old one')
  await new Promise((resolve) => setTimeout(resolve, 3300))
  const later = await client.request('jupyter/hub/home')
  assert.match(later.url, /\/oidc\/interaction\//, 'after the session lifetime the issuer asks again')
  assert.ok(logged.includes('front session ended: testuser, its lifetime is over'), logged.join('\n'))
  assert.match(later.body, /name="password"/)
})

test('the hub logout ends the front session too: the next visit asks for the login', async () => {
  const { client } = await logIn('testuser')
  const logout = await client.request('jupyter/hub/logout')
  assert.is(JSON.parse(logout.body).path, '/jupyter/hub/logout', 'the logout reached the hub')
  const next = await client.request('jupyter/hub/home')
  assert.match(next.url, /\/oidc\/interaction\//)
  assert.ok(logged.includes('front session ended: testuser logged out'), logged.join('\n'))
})

test("the hub's base URL (deploy setting baseUrl) is the front's too, in one form", () => {
  assert.is(settings.baseUrl, '/jupyter/', 'the default')
  for (const [given, form] of [
    ['/lab/', '/lab/'],
    ['lab', '/lab/'],
    ['/a/b', '/a/b/'],
    ['/', '/'],
  ])
    assert.is(settingsFor(8001, { DEPLOY_CONFIG_BASE_URL: given as string }).baseUrl, form, given)
})

test('under another base URL the front lets that health check through and ends sessions at that logout', async () => {
  const other = await startPair({ DEPLOY_CONFIG_BASE_URL: '/lab/' })
  const health = await new HubClient(other.base).request('lab/hub/health')
  assert.equal(JSON.parse(health.body), { path: '/lab/hub/health', token: null })
  const client = new HubClient(other.base)
  const form = await client.request('lab/hub/home')
  assert.match(form.url, /\/oidc\/interaction\//)
  const home = await client.request(formAction(form.body), { form: { username: 'testuser', password: PASSWORD } })
  assert.is(JSON.parse(home.body).path, '/lab/hub/home')
  await client.request('lab/hub/logout')
  assert.match((await client.request('lab/hub/home')).url, /\/oidc\/interaction\//)
})

test('bad settings are one clear error', () => {
  const wrongPath = () => settingsFor(8001, { DEPLOY_CONFIG_OIDC_SERVER: 'http://127.0.0.1:8001/' })
  assert.throws(wrongPath, (error: Error) => error instanceof SettingsError && /must end in \/oidc/.test(error.message))
  assert.throws(
    () => settingsFor(8001, { DEPLOY_CONFIG_DEV_ISSUER_TOKEN_LIFETIME: '5m' }),
    /devIssuerTokenLifetime must be a whole number of seconds/,
  )
  assert.throws(() => settingsFor(8001, { DEV_USER_CONFIG_UNIX_USERNAMES: 'Bad.User' }), /not of the form/)
})

test('the host test pins and the image lock hold the same versions', () => {
  const root = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'))
  const dir = path.join(repoRoot, 'brics_jupyterhub', 'dev-login')
  const own = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'))
  for (const [name, version] of Object.entries(own.dependencies as Record<string, string>)) {
    assert.match(version, /^\d+\.\d+\.\d+$/, `${name} is pinned exactly`)
    assert.is(root.devDependencies[name], version, `${name} in the root package.json`)
    assert.is(lock.packages[`node_modules/${name}`].version, version, `${name} in the image's lock`)
  }
})

test.run()
