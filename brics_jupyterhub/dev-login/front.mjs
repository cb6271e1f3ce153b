// @ts-check
// dev_realauth's login front, in Zenith's place: it listens on the
// environment's published port, sends a browser without a session to the
// issuer's login (authorization code flow with PKCE, by openid-client), keeps
// the session, and passes every request on to the hub with the session's ID
// token in X-Auth-Id-Token, renewing the token before it expires. The issuer
// is served through it under /oidc, so the browser and the hub (inside the
// pod) reach the issuer at the same URL.
import crypto from 'node:crypto'
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { createProxyServer } from 'http-proxy-3'
import { custom, generators, Issuer } from 'openid-client'
import { CALLBACK_PATH, callbackUrl, escapeHtml, ISSUER_PATH, logLine, readSettings, runMain } from './settings.mjs'

/** @typedef {import('./settings.mjs').Settings} Settings */
/** @typedef {import('openid-client').TokenSet} TokenSet */
/** @typedef {{ nonce: string, verifier: string, returnTo: string, expires: number }} Login */
/**
 * @typedef {object} Session
 * @property {TokenSet} tokenSet
 * @property {number} tokenExpires when the ID token expires (ms)
 * @property {number} expires when the session ends (ms)
 * @property {Promise<void>} [renewing] a renewal under way
 */
/**
 * @typedef {object} FrontState
 * @property {Settings} settings
 * @property {Map<string, Login>} pending logins under way, by state
 * @property {Map<string, Session>} sessions by cookie
 * @property {() => Promise<import('openid-client').BaseClient>} client
 * @property {import('./settings.mjs').Log} log
 */
/** @typedef {import('http-proxy-3').ProxyServer} Proxy */

const SESSION_COOKIE = 'jh_front_session'
const STATE_COOKIE = 'jh_front_state'
const TOKEN_HEADER = 'x-auth-id-token'

/** @param {http.IncomingMessage} req */
function cookiesOf(req) {
  const cookies = new Map()
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) cookies.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  return cookies
}

/** @type {(name: string, value: string, maxAge: number) => string} */
const cookie = (name, value, maxAge) =>
  `${name}=${value}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${value ? maxAge : 0}`

const newId = () => crypto.randomBytes(24).toString('base64url')

/**
 * The ID token's expiry, from its own `exp` (the front trusts what it just received from the issuer).
 * @param {TokenSet} tokenSet
 */
const expiryOf = (tokenSet) => tokenSet.claims().exp * 1000

/**
 * Whose token it is, for the log.
 * @param {TokenSet} tokenSet
 */
const userOf = (tokenSet) => String(tokenSet.claims().short_name ?? tokenSet.claims().sub)

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {string} title
 * @param {string} text
 * @param {string} home where "Start again" leads: the hub's base URL
 */
function textPage(res, status, title, text, home) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
  res.end(
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
      `<body><h1>${title}</h1><p>${escapeHtml(text)}</p><p><a href="${escapeHtml(home)}">Start again</a></p></body></html>`,
  )
}

/**
 * The front's state: the OIDC client (made on first use, once the issuer
 * answers), logins under way by state, and sessions by cookie.
 * @param {Settings} settings
 * @param {import('./settings.mjs').Log} log
 * @returns {FrontState}
 */
function frontState(settings, log) {
  /** @type {import('openid-client').BaseClient | undefined} */
  let client
  return {
    settings,
    log,
    pending: new Map(),
    sessions: new Map(),
    async client() {
      if (client) return client
      const issuer = await Issuer.discover(settings.issuer)
      const made = new issuer.Client({
        client_id: settings.audience,
        token_endpoint_auth_method: 'none',
        redirect_uris: [callbackUrl(settings)],
        response_types: ['code'],
      })
      made[custom.clock_tolerance] = 5
      client = made
      return client
    },
  }
}

/**
 * Sends the browser to the issuer's login; it comes back to the callback, then to `returnTo`.
 * @param {FrontState} state
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function startLogin(state, req, res) {
  const client = await state.client()
  // Only a path on the front's own origin: `//elsewhere/` would send the browser away after the login.
  const asked = new URL(req.url ?? '/', state.settings.origin)
  const returnTo = asked.origin === state.settings.origin ? `${asked.pathname}${asked.search}` : '/'
  const login = { nonce: generators.nonce(), verifier: generators.codeVerifier(), returnTo }
  const id = generators.state()
  state.pending.set(id, { ...login, expires: Date.now() + 600_000 })
  const location = client.authorizationUrl({
    scope: 'openid',
    state: id,
    nonce: login.nonce,
    code_challenge: generators.codeChallenge(login.verifier),
    code_challenge_method: 'S256',
    // The issuer asks for the password whenever the front has no session.
    prompt: 'login',
  })
  res.writeHead(302, { location, 'set-cookie': cookie(STATE_COOKIE, id, 600), 'cache-control': 'no-store' })
  res.end()
}

/**
 * The issuer sent the browser back: exchange the code, open a session, return to where the login started.
 * @param {FrontState} state
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function finishLogin(state, req, res) {
  const id = cookiesOf(req).get(STATE_COOKIE) ?? ''
  const login = state.pending.get(id)
  state.pending.delete(id)
  if (!login || login.expires < Date.now()) {
    state.log('login expired: the callback came for a login this front did not start, or too late')
    return textPage(
      res,
      400,
      'Login expired',
      'This login was started too long ago or in another browser.',
      state.settings.baseUrl,
    )
  }
  const client = await state.client()
  const tokenSet = await client.callback(callbackUrl(state.settings), client.callbackParams(req), {
    state: id,
    nonce: login.nonce,
    code_verifier: login.verifier,
  })
  const session = newId()
  state.sessions.set(session, {
    tokenSet,
    tokenExpires: expiryOf(tokenSet),
    expires: Date.now() + state.settings.sessionLifetime * 1000,
  })
  state.log(`session opened: ${userOf(tokenSet)}, for ${state.settings.sessionLifetime} s`)
  res.writeHead(302, {
    location: login.returnTo.startsWith('/') ? login.returnTo : state.settings.baseUrl,
    'set-cookie': [cookie(SESSION_COOKIE, session, state.settings.sessionLifetime), cookie(STATE_COOKIE, '', 0)],
    'cache-control': 'no-store',
  })
  res.end()
}

/**
 * Renews the session's ID token with its refresh token; on failure the session ends.
 * @param {FrontState} state
 * @param {string} id
 * @param {Session} session
 */
async function renew(state, id, session) {
  session.renewing ??= (async () => {
    try {
      const client = await state.client()
      session.tokenSet = await client.refresh(session.tokenSet.refresh_token ?? '')
      session.tokenExpires = expiryOf(session.tokenSet)
    } catch (error) {
      state.sessions.delete(id)
      state.log(
        `session ended: ${userOf(session.tokenSet)}, its token could not be renewed (${error instanceof Error ? error.message : error})`,
      )
    } finally {
      session.renewing = undefined
    }
  })()
  await session.renewing
}

/**
 * The session's ID token, renewed when it expires within a third of its lifetime; undefined when there is none.
 * @param {FrontState} state
 * @param {http.IncomingMessage} req
 */
async function idTokenOf(state, req) {
  const id = cookiesOf(req).get(SESSION_COOKIE) ?? ''
  const session = state.sessions.get(id)
  if (!session) return undefined
  if (session.expires <= Date.now()) {
    state.sessions.delete(id)
    state.log(`session ended: ${userOf(session.tokenSet)}, its lifetime is over`)
    return undefined
  }
  const margin = Math.min(60_000, (state.settings.tokenLifetime * 1000) / 3)
  if (session.tokenExpires - Date.now() < margin) await renew(state, id, session)
  return state.sessions.has(id) ? session.tokenSet.id_token : undefined
}

/**
 * A navigation (a person following a link) is sent to the login; a script's request gets a plain 401.
 * @param {http.IncomingMessage} req
 */
const isNavigation = (req) =>
  ['GET', 'HEAD'].includes(req.method ?? '') && [undefined, 'navigate'].includes(req.headers['sec-fetch-mode'])

/**
 * @param {FrontState} state
 * @param {Proxy} proxy
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function handle(state, proxy, req, res) {
  const { settings } = state
  const path = new URL(req.url ?? '/', settings.origin).pathname
  delete req.headers[TOKEN_HEADER]
  if (req.headers.host !== new URL(settings.origin).host && isNavigation(req)) {
    // One origin for cookies and redirects: the one the issuer URL names.
    res.writeHead(302, { location: `${settings.origin}${req.url}` })
    return res.end()
  }
  if (path === ISSUER_PATH || path.startsWith(`${ISSUER_PATH}/`))
    return proxy.web(req, res, { target: `http://127.0.0.1:${settings.issuerPort}` })
  if (path === CALLBACK_PATH) return finishLogin(state, req, res)
  // What reaches the hub without a session: `up` and monitoring wait on it.
  if (path === `${settings.baseUrl}hub/health`) return proxy.web(req, res, { target: settings.hubUrl })
  const token = await idTokenOf(state, req)
  if (!token) {
    if (isNavigation(req)) return startLogin(state, req, res)
    const text = 'Your login session has ended: reload the page to log in again.'
    return textPage(res, 401, 'Session expired', text, settings.baseUrl)
  }
  req.headers[TOKEN_HEADER] = token
  if (path === `${settings.baseUrl}hub/logout`) {
    // The hub's logout passes, and the front's session ends with it.
    const id = cookiesOf(req).get(SESSION_COOKIE) ?? ''
    const session = state.sessions.get(id)
    if (session) state.log(`session ended: ${userOf(session.tokenSet)} logged out`)
    state.sessions.delete(id)
    res.setHeader('set-cookie', cookie(SESSION_COOKIE, '', 0))
  }
  proxy.web(req, res, { target: settings.hubUrl })
}

/**
 * WebSockets (kernels, terminals) need a live session too; they cannot be sent to a login page.
 * @param {FrontState} state
 * @param {Proxy} proxy
 * @param {http.IncomingMessage} req
 * @param {import('node:stream').Duplex} socket
 * @param {Buffer} head
 */
async function handleUpgrade(state, proxy, req, socket, head) {
  delete req.headers[TOKEN_HEADER]
  const token = await idTokenOf(state, req)
  if (!token) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n')
    return
  }
  req.headers[TOKEN_HEADER] = token
  proxy.ws(req, socket, head, { target: state.settings.hubUrl })
}

/**
 * The front's HTTP server (not yet listening).
 * @param {Settings} settings
 * @param {import('./settings.mjs').Log} [log] where sessions opened and ended, and failures, are said
 */
export function createFront(settings, log = logLine) {
  const state = frontState(settings, log)
  const proxy = createProxyServer({ xfwd: true })
  proxy.on('error', (error, _req, res) => {
    if (res instanceof http.ServerResponse && !res.headersSent)
      textPage(res, 502, 'Not reachable', `The hub or the issuer did not answer (${error.message}).`, settings.baseUrl)
    else res?.destroy?.()
  })
  const server = http.createServer((req, res) => {
    handle(state, proxy, req, res).catch((error) => {
      state.log(`request failed: ${req.method} ${req.url?.split('?')[0]}: ${error.message}`)
      if (res.headersSent) return res.destroy()
      const text = `The login could not be completed: ${String(error.message).slice(0, 300)}`
      textPage(res, 502, 'Login failed', text, settings.baseUrl)
    })
  })
  server.on('upgrade', (req, socket, head) => {
    handleUpgrade(state, proxy, req, socket, head).catch(() => socket.destroy())
  })
  // Forget logins never finished and sessions that ended.
  setInterval(() => {
    const now = Date.now()
    for (const [id, login] of state.pending) if (login.expires < now) state.pending.delete(id)
    for (const [id, session] of state.sessions) if (session.expires < now) state.sessions.delete(id)
  }, 60_000).unref()
  return server
}

async function main() {
  const settings = readSettings()
  createFront(settings).listen(settings.port, () => {
    process.stdout.write(`login front on port ${settings.port}: issuer ${settings.issuer}, hub ${settings.hubUrl}\n`)
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runMain('login-front', main)
