// dev_realauth's development issuer and login front, run on the host with the
// same oidc-provider, openid-client and http-proxy-3 the hub image installs
// (the root package pins the same versions; a test below holds them equal).
// The issuer's discovery is checked against OpenID Connect Discovery 1.0, and
// its ID tokens are verified with jose, which the issuer does not use. The
// hub behind the front is a small server that records every request and
// WebSocket upgrade it gets; its login answers as the hub's does (to `next`).
// The later tests attack the front as a neighbour on the same machine would:
// another user's server behind the front, a cross-site page, a replayed
// cookie, a flood of anonymous logins.
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createFront, returnPath } from '../../brics_jupyterhub/dev-login/front.mjs'
import { createIssuer, projectsClaim } from '../../brics_jupyterhub/dev-login/issuer.mjs'
import { podFactsData } from '../../scripts/lib/pod-facts.ts'
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

interface Seen {
  url: string
  headers: http.IncomingHttpHeaders
  upgrade: boolean
}
/** Every request and WebSocket upgrade that reached the stand-in hub, with its headers. */
const seen: Seen[] = []

/**
 * Stands in for the hub's proxy. Its login redirects to `next`, as
 * JupyterHub's does once bricsauthenticator took the token; every other path
 * answers with the path and the token it got. Upgrades are accepted.
 */
const hub = http.createServer((req, res) => {
  seen.push({ url: req.url ?? '', headers: req.headers, upgrade: false })
  const url = new URL(req.url ?? '/', 'http://hub')
  if (url.pathname.endsWith('/hub/login') && req.headers['x-auth-id-token']) {
    res.writeHead(302, { location: url.searchParams.get('next') ?? url.pathname.replace(/login$/, 'home') })
    return res.end()
  }
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ path: req.url, token: req.headers['x-auth-id-token'] ?? null }))
})
hub.on('upgrade', (req, socket) => {
  seen.push({ url: req.url ?? '', headers: req.headers, upgrade: true })
  const accept = crypto
    .createHash('sha1')
    .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC11B85`)
    .digest('base64')
  socket.end(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  )
})

const servers: http.Server[] = [hub]
/** What the issuer and the front logged (their containers' output in the pod). */
const logged: string[] = []
let settings: ReturnType<typeof readSettings>
let base = ''
let port = 0

function settingsFor(port: number, extra: Record<string, string> = {}) {
  return readSettings({
    // What the launcher passes into the pod: the pod facts, and the deploy settings it always sets.
    ...podFactsData(),
    DEPLOY_CONFIG_BASE_URL: '/jupyter/',
    DEPLOY_CONFIG_OIDC_SERVER: `http://127.0.0.1:${port}/oidc`,
    DEPLOY_CONFIG_JWT_AUDIENCE: AUDIENCE,
    DEPLOY_CONFIG_BRICS_PLATFORM: PLATFORM,
    DEV_USER_CONFIG_UNIX_USERNAMES: 'testuser.project1 testuser.project2 otheruser.project1',
    DEPLOY_CONFIG_DEV_ISSUER_OTHER_PROJECTS: 'testuser.project9 outsider.elsewhere',
    DEPLOY_CONFIG_DEV_ISSUER_TOKEN_LIFETIME: String(TOKEN_LIFETIME),
    DEPLOY_CONFIG_DEV_ISSUER_SESSION_LIFETIME: '5',
    DEPLOY_CONFIG_DEV_ISSUER_ADMINS: 'testuser',
    ...extra,
  })
}

interface Limits {
  front?: Parameters<typeof createFront>[2]
  issuer?: Parameters<typeof createIssuer>[3]
}

/** An issuer and a front in front of the stand-in hub, as the pod runs them; returns the front's URL. */
async function startPair(extra: Record<string, string> = {}, limits: Limits = {}) {
  const frontPort = await freePort()
  const hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`
  const pair = { ...settingsFor(frontPort, extra), issuerPort: await freePort(), hubUrl }
  const issuer = createIssuer(pair, PASSWORD, (line) => logged.push(`issuer ${line}`), limits.issuer)
  const issuerServer = http.createServer(issuer.handler)
  const front = createFront(pair, (line) => logged.push(`front ${line}`), limits.front)
  servers.push(issuerServer, front)
  await listen(issuerServer, pair.issuerPort)
  await listen(front, frontPort)
  return { settings: pair, base: `http://127.0.0.1:${frontPort}/`, port: frontPort, store: issuer.store }
}

test.before(async () => {
  await listen(hub)
  ;({ settings, base, port } = await startPair())
})

test.after(() => {
  for (const server of servers) server.closeAllConnections?.()
  for (const server of servers) server.close()
})

/** Logs in at the issuer's form as a browser does; returns the client, the last page and the token the hub's login got. */
async function logIn(user: string, password = PASSWORD, at = base, client = new HubClient(at)) {
  const form = await client.request(new URL('jupyter/hub/spawn', at).toString())
  assert.match(form.url, /\/oidc\/interaction\//, 'a browser without a session lands on the issuer login')
  assert.match(form.body, /name="password"/)
  const from = seen.length
  const action = new URL(formAction(form.body), form.url).toString()
  const after = await client.request(action, { form: { username: user, password } })
  return { client, after, token: loginTokens(from).at(-1) ?? '' }
}

/** The tokens the hub's login got since `from`. */
const loginTokens = (from: number): string[] =>
  seen
    .slice(from)
    .filter((r) => r.url.split('?')[0]?.endsWith('/hub/login') && r.headers['x-auth-id-token'])
    .map((r) => String(r.headers['x-auth-id-token']))

/** The token the hub's login gets now for a client's session, as when the hub sends the browser to its login. */
async function tokenNow(client: HubClient, prefix = 'jupyter/'): Promise<string | undefined> {
  const from = seen.length
  await client.request(`${prefix}hub/login`)
  return loginTokens(from)[0]
}

/** The cookie jar of a client, as a browser keeps it (name, value, path). */
const jarOf = (client: HubClient) =>
  (client as unknown as { jar: Array<{ name: string; value: string; path: string }> }).jar

/** One request exactly as given (no URL normalisation, no cookie jar, no redirects followed). */
function raw(
  at: number,
  target: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.1', port: at, path: target, method, headers }, (response) => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (body += chunk))
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
    })
    request.on('error', reject)
    request.end()
  })
}

/** A WebSocket upgrade through the front; resolves with the status it got (101 when it passed). */
function upgrade(at: number, target: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({
      host: '127.0.0.1',
      port: at,
      path: target,
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': crypto.randomBytes(16).toString('base64'),
        ...headers,
      },
    })
    request.on('upgrade', (response, socket) => {
      socket.destroy()
      resolve(response.statusCode ?? 0)
    })
    request.on('response', (response) => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    request.on('error', reject)
    request.end()
  })
}

/** The Cookie header a client's browser would send if the issuer's cookies were not scoped to /oidc. */
const allCookies = (client: HubClient) => [...client.cookies].map(([name, value]) => `${name}=${value}`).join('; ')

/** A client's front session cookie as a Cookie header (matched loosely, so that the tests also run against older names). */
const frontCookie = (client: HubClient) =>
  jarOf(client)
    .filter((c) => /^jh_front_session/.test(c.name))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ')

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

test("after the login the hub's login gets an ID token that verifies with jose, then the page asked for", async () => {
  const from = seen.length
  const { client, after, token } = await logIn('testuser')
  assert.is(after.url, `${base}jupyter/hub/spawn`, 'the login returns to the page asked for')
  const hubLogin = seen.slice(from).find((r) => r.url.startsWith('/jupyter/hub/login'))
  assert.is(hubLogin?.url, '/jupyter/hub/login?next=%2Fjupyter%2Fhub%2Fspawn', "through the hub's login")
  assert.is(JSON.parse(after.body).token, null, 'the page itself gets no token')
  const claims = await verified(token)
  assert.is(claims.short_name, 'testuser')
  // devIssuerAdmins: testuser is in brics-admins (the dev environment's admin role), as the token says.
  assert.equal(claims.groups, ['brics-admins'])
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
  // A token the browser sends itself is replaced by the session's at the hub's login, and dropped elsewhere.
  const forged = await client.request('jupyter/hub/home', { headers: { 'X-Auth-Id-Token': 'forged' } })
  assert.is(JSON.parse(forged.body).token, null)
  const before = seen.length
  await client.request('jupyter/hub/login', { headers: { 'X-Auth-Id-Token': 'forged' } })
  const [replaced] = loginTokens(before)
  assert.ok(replaced && replaced !== 'forged')
  await verified(replaced)
})

test('a user with only off-platform projects gets a token whose projects are all elsewhere', async () => {
  const { token } = await logIn('outsider')
  const claims = await verified(token)
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
  const { client, token } = await logIn('testuser')
  const first = decodeJwt(token)
  await new Promise((resolve) => setTimeout(resolve, 2300))
  const second = await verified((await tokenNow(client)) ?? '')
  assert.ok((second.exp as number) > (first.exp as number), 'a fresh token replaced the old one')
  await new Promise((resolve) => setTimeout(resolve, 3300))
  const later = await client.request('jupyter/hub/home')
  assert.match(later.url, /\/oidc\/interaction\//, 'after the session lifetime the issuer asks again')
  assert.ok(logged.includes('front session ended: testuser, its lifetime is over'), logged.join('\n'))
  assert.match(later.body, /name="password"/)
})

/** What a browser says of a request that a page of this origin made: a link clicked, a redirect followed. */
const SAME_ORIGIN = { 'sec-fetch-site': 'same-origin' }

test("the hub logout ends the front's and the issuer's sessions: the next visit asks for the login", async () => {
  const { client } = await logIn('testuser')
  const ended = logged.length
  const logout = await client.request('jupyter/hub/logout', { headers: SAME_ORIGIN })
  assert.is(JSON.parse(logout.body).path, '/jupyter/hub/logout', 'the logout reached the hub')
  assert.is(JSON.parse(logout.body).token, null)
  assert.not.ok(client.cookies.has(`jh_front_session_${port}`), 'the front cookie is cleared')
  const next = await client.request('jupyter/hub/home')
  assert.match(next.url, /\/oidc\/interaction\//)
  assert.equal(logged.slice(ended, ended + 2), [
    'front session ended: testuser logged out',
    'issuer session ended: testuser, logged out at the front',
  ])
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
  assert.ok(await tokenNow(client, 'lab/'), "that base URL's hub login gets the token")
  await client.request('lab/hub/logout', { headers: SAME_ORIGIN })
  assert.match((await client.request('lab/hub/home')).url, /\/oidc\/interaction\//)
})

// Attacks, as a neighbour on the same machine would make them.

test("a user's server gets no token and no login cookie of a visitor, over HTTP and WebSocket", async () => {
  const { client } = await logIn('testuser')
  // The worst a browser could send: every cookie it holds, also those of other ports and oidc-provider's defaults.
  const cookie = `${allCookies(client)}; _session=x; _session.sig=y; _session.legacy=z; jh_front_session_1=w; jupyterhub-session-id=keep`
  const from = seen.length
  const page = await client.request('jupyter/user/otheruser/lab', { headers: { cookie, 'X-Auth-Id-Token': 'forged' } })
  assert.is(JSON.parse(page.body).path, '/jupyter/user/otheruser/lab', 'the session passes')
  const status = await upgrade(port, '/jupyter/user/otheruser/api/kernels/k/channels', {
    cookie,
    'x-auth-id-token': 'forged',
  })
  assert.is(status, 101)
  const reached = seen.slice(from)
  assert.equal(
    reached.map((r) => [r.url, r.upgrade]),
    [
      ['/jupyter/user/otheruser/lab', false],
      ['/jupyter/user/otheruser/api/kernels/k/channels', true],
    ],
  )
  for (const r of reached) {
    assert.is(r.headers['x-auth-id-token'], undefined, `no token at ${r.url}`)
    assert.is(r.headers.cookie, 'jupyterhub-session-id=keep', `only the hub's own cookies at ${r.url}`)
  }
  // Without a session, an upgrade gets nowhere.
  assert.is(await upgrade(port, '/jupyter/user/otheruser/api/kernels/k/channels', {}), 401)
})

test("the token reaches the hub's login only, by its path exactly as the hub's proxy routes it", async () => {
  const { client } = await logIn('testuser')
  const cookie = frontCookie(client)
  const from = seen.length
  for (const target of ['/jupyter/user/otheruser/../../hub/login', '/jupyter/hub/login/', '/jupyter/hub/logins'])
    await raw(port, target, { cookie })
  assert.is(seen.length - from, 3)
  assert.ok(
    seen.slice(from).every((r) => r.headers['x-auth-id-token'] === undefined),
    seen
      .slice(from)
      .map((r) => r.url)
      .join(', '),
  )
})

test("the issuer's cookies keep to /oidc, and all cookie names carry the front's port", async () => {
  const { client } = await logIn('testuser')
  const jar = jarOf(client)
  const issuerCookies = jar.filter((c) => c.name.startsWith('jh_issuer_'))
  assert.ok(
    issuerCookies.some((c) => c.name === `jh_issuer_session_${port}`),
    JSON.stringify(jar),
  )
  for (const c of issuerCookies) assert.ok(c.path.startsWith('/oidc'), `${c.name} path ${c.path}`)
  assert.not.ok(
    jar.some((c) => /^_session|^_interaction/.test(c.name)),
    "none under oidc-provider's default names",
  )
  assert.ok(client.cookies.has(`jh_front_session_${port}`))
})

test('two fronts on different ports of 127.0.0.1 keep separate sessions in one browser', async () => {
  const other = await startPair()
  const { client } = await logIn('testuser')
  // The same browser (one cookie jar for 127.0.0.1) logs in at the other port as someone else.
  const there = await logIn('otheruser', PASSWORD, other.base, client)
  assert.is(JSON.parse(there.after.body).path, '/jupyter/hub/spawn', 'logged in there')
  assert.is(decodeJwt(there.token).short_name, 'otheruser')
  assert.equal(decodeJwt(there.token).groups, [], 'otheruser is in no group')
  const here = await client.request(`${base}jupyter/hub/home`)
  assert.is(JSON.parse(here.body).path, '/jupyter/hub/home', 'the first session is still there')
  const token = decodeJwt((await tokenNow(client)) ?? '')
  assert.is(token.short_name, 'testuser')
})

test('client forwarding headers never arrive: the front sets its own', async () => {
  const { client } = await logIn('testuser')
  const spoofed = {
    'X-Forwarded-For': '203.0.113.9',
    'X-Forwarded-Host': 'evil.example',
    'X-Forwarded-Proto': 'https',
    'X-Forwarded-Prefix': '/evil',
    'X-Real-Ip': '203.0.113.9',
    'X-Scheme': 'https',
    Forwarded: 'for=203.0.113.9;host=evil.example;proto=https',
  }
  const from = seen.length
  await client.request('jupyter/hub/home', { headers: spoofed })
  await new HubClient(base).request('jupyter/hub/health', { headers: spoofed })
  assert.ok(
    await upgrade(port, '/jupyter/user/testuser/api/events/subscribe', {
      ...spoofed,
      cookie: frontCookie(client),
    }),
  )
  const reached = seen.slice(from)
  assert.is(reached.length, 3)
  for (const r of reached) {
    const forwarding = Object.keys(r.headers).filter((name) =>
      /^x-forwarded-|^x-real-ip$|^x-scheme$|^forwarded$/.test(name),
    )
    assert.equal(forwarding.sort(), ['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto'], r.url)
    assert.is(r.headers['x-forwarded-for'], '127.0.0.1', r.url)
    assert.is(r.headers['x-forwarded-proto'], 'http', r.url)
    assert.is(r.headers['x-forwarded-host'], `127.0.0.1:${port}`, r.url)
  }
})

test("after a logout a replayed front cookie gets no identity, and the issuer's session is gone", async () => {
  const { client } = await logIn('testuser')
  const replay = frontCookie(client)
  const ended = logged.length
  const out = await client.request('jupyter/_oidc/sign_out?rd=%2Fjupyter%2Fhub%2Fhome', { headers: SAME_ORIGIN })
  assert.match(out.url, /\/oidc\/interaction\//, 'back to the page asked for, which asks for the login')
  assert.ok(logged.slice(ended).includes('front session ended: testuser logged out'), logged.join('\n'))
  assert.ok(logged.slice(ended).includes('issuer session ended: testuser, logged out at the front'), logged.join('\n'))
  const from = seen.length
  const replayed = await raw(port, '/jupyter/hub/login', { cookie: replay, 'sec-fetch-mode': 'navigate' })
  assert.is(replayed.status, 302)
  assert.match(String(replayed.headers.location), /\/oidc\/auth\?/, 'sent to the login')
  assert.is(seen.length, from, 'nothing reached the hub')
})

test('a replayed issuer session cookie logs no one in, even without prompt=login', async () => {
  const { client } = await logIn('testuser')
  const issuerCookies = jarOf(client)
    .filter((c) => /^(jh_issuer_session_\d+|_session)(\.sig)?$/.test(c.name))
    .map((c) => `${c.name}=${c.value}`)
    .join('; ')
  assert.ok(issuerCookies, 'the login left an issuer session cookie')
  // Someone else starts a login at the front and replays the cookie at the issuer, without asking for a login.
  const start = await raw(port, '/jupyter/hub/home', { 'sec-fetch-mode': 'navigate' })
  const auth = new URL(String(start.headers.location))
  auth.searchParams.delete('prompt')
  const answer = await raw(port, `${auth.pathname}${auth.search}`, { cookie: issuerCookies })
  assert.is(answer.status, 303)
  assert.match(String(answer.headers.location), /\/oidc\/interaction\//, 'the issuer asks for the password')
  assert.not.match(String(answer.headers.location), /code=/)
})

test('a cross-site page cannot log anyone out; the form the front offers then can', async () => {
  const { client } = await logIn('testuser')
  const from = seen.length
  const crossSite: Record<string, string>[] = [
    { 'sec-fetch-site': 'cross-site' },
    { 'sec-fetch-site': 'same-site' },
    { referer: 'http://evil.example/page' },
    {},
  ]
  for (const headers of crossSite) {
    for (const target of ['jupyter/hub/logout', 'jupyter/_oidc/sign_out?rd=%2Fjupyter%2F']) {
      const answer = await client.request(target, { headers })
      assert.is(answer.status, 200, `${target} ${JSON.stringify(headers)}`)
      assert.match(answer.body, /Log out\?/)
    }
  }
  assert.not.ok(
    seen.slice(from).some((r) => r.url.includes('logout')),
    "the hub's logout was not reached",
  )
  const still = await client.request('jupyter/hub/home')
  assert.is(JSON.parse(still.body).path, '/jupyter/hub/home', 'still logged in')
  // A form posted from elsewhere, without the page's token, does nothing either.
  const forged = await client.request('jupyter/_oidc/sign_out?rd=%2Fjupyter%2F', {
    form: { token: 'guess' },
    headers: { origin: 'http://evil.example' },
  })
  assert.match(forged.body, /Log out\?/)
  // The person confirms on the front's page.
  const confirm = await client.request('jupyter/hub/logout', { headers: { 'sec-fetch-site': 'cross-site' } })
  const token = /name="token" value="([^"]+)"/.exec(confirm.body)?.[1] ?? ''
  const out = await client.request(formAction(confirm.body), { form: { token } })
  assert.match(out.url, /\/oidc\/interaction\//, 'logged out: the login again')
})

test('return paths never lead off the origin', async () => {
  for (const asked of [
    '//evil.example/x',
    '/.//evil.example/x',
    '/\\evil.example/x',
    '/jupyter/..//evil.example/',
    '/jupyter/%2e%2e//evil.example/',
    'http://evil.example/jupyter/',
    '/jupyter/_oidc/sign_out?rd=//evil.example',
    '/jupyter/hub/logout',
  ]) {
    const path = returnPath(settings, asked)
    assert.ok(/^\/jupyter\//.test(path) && !path.startsWith('//'), `${asked} -> ${path}`)
    assert.is(new URL(path, settings.origin).origin, settings.origin, asked)
  }
  assert.is(returnPath(settings, '/jupyter/hub/spawn?x=1'), '/jupyter/hub/spawn?x=1')
  // The whole flow, from a path exactly as a crafted link sends it.
  const client = new HubClient(base)
  const start = await raw(port, '/.//evil.example/x', { 'sec-fetch-mode': 'navigate' })
  const state = String(start.headers['set-cookie']?.[0]).split(';')[0] ?? ''
  jarOf(client).push({ name: state.split('=')[0] ?? '', value: state.split('=')[1] ?? '', path: '/' })
  const form = await client.request(String(start.headers.location))
  const after = await client.request(formAction(form.body), { form: { username: 'testuser', password: PASSWORD } })
  assert.is(after.url, `${base}jupyter/`)
  // The sign-out's rd, too.
  const out = await raw(port, '/jupyter/_oidc/sign_out?rd=%2F.%2F%2Fevil.example%2F', SAME_ORIGIN)
  assert.is(out.headers.location, '/jupyter/')
})

test("a flood of anonymous /oidc/auth does not end a live session's renewal", async () => {
  const pair = await startPair(
    { DEPLOY_CONFIG_DEV_ISSUER_SESSION_LIFETIME: '120' },
    { front: { loginsPerMinute: 10_000 }, issuer: { requestsPerMinute: 10_000 } },
  )
  const { client, token } = await logIn('testuser', PASSWORD, pair.base)
  const start = await raw(pair.port, '/jupyter/hub/home', { 'sec-fetch-mode': 'navigate' })
  const auth = new URL(String(start.headers.location))
  const target = `${auth.pathname}${auth.search}`
  for (let done = 0; done < 2500; done += 50)
    await Promise.all(Array.from({ length: 50 }, () => raw(pair.port, target)))
  assert.ok(pair.store.sizes().transient <= 5000)
  await new Promise((resolve) => setTimeout(resolve, 2300))
  const renewed = await tokenNow(client)
  assert.ok(renewed, 'the session still passes')
  assert.ok((decodeJwt(renewed).exp as number) > (decodeJwt(token).exp as number), 'its token was renewed')
})

test('logins started are bounded, and limited per address (429)', async () => {
  const pair = await startPair({}, { front: { pendingLogins: 10, sessions: 2, loginsPerMinute: 30 } })
  // A login under way is dropped once ten newer ones started.
  const client = new HubClient(pair.base)
  const form = await client.request('jupyter/hub/home')
  for (let i = 0; i < 10; i++) await raw(pair.port, '/jupyter/hub/home', { 'sec-fetch-mode': 'navigate' })
  const late = await client.request(formAction(form.body), { form: { username: 'testuser', password: PASSWORD } })
  assert.is(late.status, 400)
  assert.match(late.body, /Login expired/)
  // Sessions: the oldest goes beyond the limit.
  const first = (await logIn('testuser', PASSWORD, pair.base)).client
  await logIn('otheruser', PASSWORD, pair.base)
  await logIn('outsider', PASSWORD, pair.base)
  assert.match((await first.request('jupyter/hub/home')).url, /\/oidc\/interaction\//)
  // Starting logins from one address: 30 a minute at this front.
  const statuses = []
  for (let i = 0; i < 30; i++)
    statuses.push((await raw(pair.port, '/jupyter/hub/home', { 'sec-fetch-mode': 'navigate' })).status)
  assert.ok(statuses.includes(429), statuses.join(' '))
  // The issuer's authorization and login endpoints: 20 a minute at this issuer.
  const limited = await startPair({}, { issuer: { requestsPerMinute: 20 } })
  const auth = new URL(
    String((await raw(limited.port, '/jupyter/hub/home', { 'sec-fetch-mode': 'navigate' })).headers.location),
  )
  const answers = []
  for (let i = 0; i < 25; i++) answers.push((await raw(limited.port, `${auth.pathname}${auth.search}`)).status)
  assert.is(answers.indexOf(429), 20, answers.join(' '))
  const login = await raw(limited.port, '/oidc/interaction/x/login', {}, 'POST')
  assert.is(login.status, 429)
})

test('bad settings are one clear error', () => {
  const wrongPath = () => settingsFor(8001, { DEPLOY_CONFIG_OIDC_SERVER: 'http://127.0.0.1:8001/' })
  assert.throws(wrongPath, (error: Error) => error instanceof SettingsError && /must end in \/oidc/.test(error.message))
  assert.throws(
    () => settingsFor(8001, { DEPLOY_CONFIG_DEV_ISSUER_TOKEN_LIFETIME: '5m' }),
    /devIssuerTokenLifetime must be a whole number of seconds/,
  )
  assert.throws(() => settingsFor(8001, { DEV_USER_CONFIG_UNIX_USERNAMES: 'Bad.User' }), /not of the form/)
  assert.throws(
    () => settingsFor(8001, { DEPLOY_CONFIG_DEV_ISSUER_ADMINS: 'testuser.project1' }),
    /devIssuerAdmins: "testuser\.project1" is not a user name \(<USER>, without a project\)/,
  )
  assert.equal(settingsFor(8001, { DEPLOY_CONFIG_DEV_ISSUER_ADMINS: '' }).admins, [])
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
