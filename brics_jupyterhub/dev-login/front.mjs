// @ts-check
// dev_realauth's login front, in Zenith's place: it listens on the
// environment's published port, sends a browser without a session to the
// issuer's login (authorization code flow with PKCE, by openid-client), keeps
// the session, and passes requests on to the hub, renewing the session's ID
// token before it expires. The issuer is served through it under /oidc, so
// the browser and the hub (inside the pod) reach the issuer at the same URL.
//
// What crosses it (docs/realauth.md, "What crosses the front"): the ID token
// goes to the hub's login only; the front's and the issuer's cookies, a
// client's own X-Auth-Id-Token and forwarding headers never reach the hub or
// the users' servers behind it.
import crypto from 'node:crypto'
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import { createProxyServer } from 'http-proxy-3'
import { custom, generators, Issuer } from 'openid-client'
import {
  CALLBACK_PATH,
  callbackUrl,
  cookieNames,
  escapeHtml,
  ISSUER_PATH,
  LOGIN_COOKIE,
  logLine,
  rateLimiter,
  readSettings,
  runMain,
  SIGN_OUT_PATH,
  readForm,
} from './settings.mjs'

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
 * @typedef {object} Limits
 * @property {number} pendingLogins logins under way kept at most (the oldest is dropped first)
 * @property {number} loginSeconds how long a login under way may take
 * @property {number} sessions sessions kept at most (the oldest is dropped first)
 * @property {number} loginsPerMinute logins one client address may start in a minute
 */
/**
 * @typedef {object} FrontState
 * @property {Settings} settings
 * @property {ReturnType<typeof cookieNames>} names
 * @property {Limits} limits
 * @property {Map<string, Login>} pending logins under way, by state
 * @property {Map<string, Session>} sessions by cookie
 * @property {(client: string) => boolean} mayStartLogin
 * @property {Buffer} secret signs the logout form's token
 * @property {() => Promise<import('openid-client').BaseClient>} client
 * @property {import('./settings.mjs').Log} log
 */
/** @typedef {import('http-proxy-3').ProxyServer} Proxy */

/** @type {Limits} */
export const LIMITS = { pendingLogins: 1000, loginSeconds: 600, sessions: 10_000, loginsPerMinute: 120 }

const TOKEN_HEADER = 'x-auth-id-token'
/** Forwarding headers a client sent: dropped, the front sets its own. */
const FORWARDING_HEADER = /^(?:x-forwarded-.*|x-real-ip|x-scheme|forwarded)$/

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
 * Adds to a map that keeps at most `cap` entries, dropping the oldest first.
 * @template T
 * @param {Map<string, T>} map
 * @param {string} key
 * @param {T} value
 * @param {number} cap
 */
function remember(map, key, value, cap) {
  map.set(key, value)
  while (map.size > cap) map.delete(map.keys().next().value ?? '')
}

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

/** @param {http.IncomingMessage} req */
const addressOf = (req) => (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')

/** @param {Settings} settings */
const hubLoginPath = (settings) => `${settings.baseUrl}hub/login`

/**
 * The paths that end a session: the hub's logout and the front's sign-out.
 * @param {Settings} settings
 * @param {string} path
 */
const isLogout = (settings, path) => path === `${settings.baseUrl}hub/logout` || path === signOutPath(settings)

/** @param {Settings} settings */
const signOutPath = (settings) => `${settings.baseUrl}${SIGN_OUT_PATH}`

/**
 * Where the browser may be sent back to: a path on the front's own origin,
 * under the hub's base URL, that starts with exactly one `/` and is no logout;
 * otherwise the base URL. Built from a URL parsed on that origin, so
 * `//elsewhere/`, `/\elsewhere/` or `/.//elsewhere/` never leave it.
 * @param {Settings} settings
 * @param {string} asked
 */
export function returnPath(settings, asked) {
  let url
  try {
    url = new URL(asked, settings.origin)
  } catch {
    return settings.baseUrl
  }
  const path = `${url.pathname}${url.search}`
  const own =
    url.origin === settings.origin &&
    /^\/(?![/\\])/.test(path) &&
    path.startsWith(settings.baseUrl) &&
    !isLogout(settings, url.pathname)
  return own ? path : settings.baseUrl
}

/**
 * After a login the browser goes through the hub's login, which takes the
 * new token: the hub never keeps an earlier user's login for this browser.
 * @param {Settings} settings
 * @param {string} returnTo a path from `returnPath`
 */
function throughHubLogin(settings, returnTo) {
  if (new URL(returnTo, settings.origin).pathname === hubLoginPath(settings)) return returnTo
  return `${hubLoginPath(settings)}?next=${encodeURIComponent(returnTo)}`
}

/**
 * A request a page of this origin made (or one the user typed), by the
 * browser's Fetch Metadata, or Origin or Referer where it sends none.
 * @param {http.IncomingMessage} req
 * @param {string} origin
 */
function sameOrigin(req, origin) {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined) return site === 'same-origin' || site === 'none'
  const from = req.headers.origin ?? req.headers.referer
  if (!from) return false
  try {
    return new URL(from).origin === origin
  } catch {
    return false
  }
}

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {string} title
 * @param {string} html the page's body after its title
 */
function page(res, status, title, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
  res.end(
    `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${html}</body></html>`,
  )
}

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {string} title
 * @param {string} text
 * @param {string} home where "Start again" leads: the hub's base URL
 */
function textPage(res, status, title, text, home) {
  page(res, status, title, `<p>${escapeHtml(text)}</p><p><a href="${escapeHtml(home)}">Start again</a></p>`)
}

/**
 * The front's state: the OIDC client (made on first use, once the issuer
 * answers), logins under way by state, and sessions by cookie.
 * @param {Settings} settings
 * @param {import('./settings.mjs').Log} log
 * @param {Limits} limits
 * @returns {FrontState}
 */
function frontState(settings, log, limits) {
  /** @type {import('openid-client').BaseClient | undefined} */
  let client
  return {
    settings,
    names: cookieNames(settings),
    limits,
    log,
    pending: new Map(),
    sessions: new Map(),
    mayStartLogin: rateLimiter(limits.loginsPerMinute),
    secret: crypto.randomBytes(32),
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
 * The token of the logout form: only a page of the front has it.
 * @param {FrontState} state
 * @param {string} id the session's cookie
 */
const logoutToken = (state, id) => crypto.createHmac('sha256', state.secret).update(id).digest('base64url')

/**
 * Ends a session at the front and at the issuer: revoking its refresh token
 * ends the issuer's grant and, with it, the issuer's session of that login.
 * @param {FrontState} state
 * @param {string} id
 * @param {string} why for the log
 */
async function endSession(state, id, why) {
  const session = state.sessions.get(id)
  if (!session) return
  state.sessions.delete(id)
  state.log(`session ended: ${userOf(session.tokenSet)}${why}`)
  const refreshToken = session.tokenSet.refresh_token
  if (!refreshToken) return
  try {
    await (await state.client()).revoke(refreshToken, 'refresh_token')
  } catch (error) {
    state.log(`the issuer's session could not be ended: ${error instanceof Error ? error.message : error}`)
  }
}

/**
 * Sends the browser to the issuer's login; it comes back to the callback, then through the hub's login to `returnTo`.
 * @param {FrontState} state
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function startLogin(state, req, res) {
  const { settings, names, limits } = state
  if (!state.mayStartLogin(addressOf(req))) {
    res.setHeader('retry-after', '60')
    return textPage(res, 429, 'Too many logins', 'Too many logins from your address: wait a minute.', settings.baseUrl)
  }
  const client = await state.client()
  const login = {
    nonce: generators.nonce(),
    verifier: generators.codeVerifier(),
    returnTo: returnPath(settings, req.url ?? '/'),
    expires: Date.now() + limits.loginSeconds * 1000,
  }
  const id = generators.state()
  remember(state.pending, id, login, limits.pendingLogins)
  const location = client.authorizationUrl({
    scope: 'openid',
    state: id,
    nonce: login.nonce,
    code_challenge: generators.codeChallenge(login.verifier),
    code_challenge_method: 'S256',
    // The issuer asks for the password at every login anyway.
    prompt: 'login',
  })
  res.writeHead(302, {
    location,
    'set-cookie': cookie(names.frontState, id, limits.loginSeconds),
    'cache-control': 'no-store',
  })
  res.end()
}

/**
 * The issuer sent the browser back: exchange the code, open a session, go through the hub's login to where the login started.
 * @param {FrontState} state
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function finishLogin(state, req, res) {
  const { settings, names } = state
  const cookies = cookiesOf(req)
  const id = cookies.get(names.frontState) ?? ''
  const login = state.pending.get(id)
  state.pending.delete(id)
  if (!login || login.expires < Date.now()) {
    state.log('login expired: the callback came for a login this front did not start, or too late')
    const text = 'This login was started too long ago or in another browser.'
    return textPage(res, 400, 'Login expired', text, settings.baseUrl)
  }
  const client = await state.client()
  const tokenSet = await client.callback(callbackUrl(settings), client.callbackParams(req), {
    state: id,
    nonce: login.nonce,
    code_verifier: login.verifier,
  })
  // This browser's earlier session, if any, ends with the new login.
  await endSession(state, cookies.get(names.frontSession) ?? '', ', replaced by a new login')
  const session = newId()
  const expires = Date.now() + settings.sessionLifetime * 1000
  remember(state.sessions, session, { tokenSet, tokenExpires: expiryOf(tokenSet), expires }, state.limits.sessions)
  state.log(`session opened: ${userOf(tokenSet)}, for ${settings.sessionLifetime} s`)
  res.writeHead(302, {
    location: throughHubLogin(settings, login.returnTo),
    'set-cookie': [cookie(names.frontSession, session, settings.sessionLifetime), cookie(names.frontState, '', 0)],
    'cache-control': 'no-store',
  })
  res.end()
}

/**
 * Renews the session's ID token with its refresh token; on failure the session ends.
 * openid-client's refresh is given the TokenSet, so it checks that the new token's `sub` is the old one's.
 * @param {FrontState} state
 * @param {string} id
 * @param {Session} session
 */
async function renew(state, id, session) {
  session.renewing ??= (async () => {
    try {
      const client = await state.client()
      session.tokenSet = await client.refresh(session.tokenSet)
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
 * The request's live session, its ID token renewed when it expires within a third of its lifetime.
 * @param {FrontState} state
 * @param {string} id the session cookie
 * @returns {Promise<Session | undefined>}
 */
async function liveSession(state, id) {
  const session = state.sessions.get(id)
  if (!session) return undefined
  if (session.expires <= Date.now()) {
    await endSession(state, id, ', its lifetime is over')
    return undefined
  }
  const margin = Math.min(60_000, (state.settings.tokenLifetime * 1000) / 3)
  if (session.tokenExpires - Date.now() < margin) await renew(state, id, session)
  return state.sessions.get(id)
}

/**
 * What the client said that is not for what stands behind the front goes:
 * a token of its own, forwarding headers, and cookies matching `unwanted`.
 * Then the front says where the request came from.
 * @param {http.IncomingMessage} req
 * @param {RegExp} unwanted cookie names
 */
function cleanRequest(req, unwanted) {
  for (const name of Object.keys(req.headers))
    if (name === TOKEN_HEADER || FORWARDING_HEADER.test(name)) delete req.headers[name]
  const kept = (req.headers.cookie ?? '')
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part && !unwanted.test(part.split('=')[0]?.trim() ?? ''))
  if (kept.length > 0) req.headers.cookie = kept.join('; ')
  else delete req.headers.cookie
  req.headers['x-forwarded-for'] = addressOf(req)
  req.headers['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http'
  if (req.headers.host) req.headers['x-forwarded-host'] = req.headers.host
}

/** The front's own cookies: the issuer never needs them. */
const FRONT_COOKIE = /^jh_front_/

/**
 * A form that asks to log out, for a logout that did not come from a page of the front's origin.
 * @param {FrontState} state
 * @param {http.ServerResponse} res
 * @param {string} id the session cookie
 * @param {string} rd where to go afterwards
 */
function confirmLogout(state, res, id, rd) {
  const action = `${signOutPath(state.settings)}?rd=${encodeURIComponent(rd)}`
  page(
    res,
    200,
    'Log out?',
    `<form method="post" action="${escapeHtml(action)}">` +
      `<input type="hidden" name="token" value="${logoutToken(state, id)}">` +
      '<button type="submit">Log out</button></form>',
  )
}

/**
 * `<baseUrl>_oidc/sign_out?rd=<path>`, as production's OAuth2 proxy has it:
 * ends the front's and the issuer's sessions, then goes to `rd` (a path of
 * this origin). A request from another site gets a form to confirm instead.
 * @param {FrontState} state
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function signOut(state, req, res) {
  const { settings, names } = state
  const rd = returnPath(settings, new URL(req.url ?? '/', settings.origin).searchParams.get('rd') ?? '')
  const id = cookiesOf(req).get(names.frontSession) ?? ''
  if (state.sessions.has(id)) {
    const confirmed =
      sameOrigin(req, settings.origin) ||
      (req.method === 'POST' && (await readForm(req)).get('token') === logoutToken(state, id))
    if (!confirmed || !['GET', 'POST'].includes(req.method ?? '')) return confirmLogout(state, res, id, rd)
    await endSession(state, id, ' logged out')
  }
  res.writeHead(303, { location: rd, 'set-cookie': cookie(names.frontSession, '', 0), 'cache-control': 'no-store' })
  res.end()
}

/**
 * A navigation (a person following a link) is sent to the login; a script's request gets a plain 401.
 * @param {http.IncomingMessage} req
 */
const isNavigation = (req) =>
  ['GET', 'HEAD'].includes(req.method ?? '') && [undefined, 'navigate'].includes(req.headers['sec-fetch-mode'])

/** Set-Cookie lines the front adds to the hub's answer to a request. */
const addedCookies = new WeakMap()

/**
 * @param {FrontState} state
 * @param {Proxy} proxy
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 */
async function handle(state, proxy, req, res) {
  const { settings, names } = state
  const url = req.url ?? '/'
  const path = new URL(url, settings.origin).pathname
  if (req.headers.host !== new URL(settings.origin).host && isNavigation(req)) {
    // One origin for cookies and redirects: the one the issuer URL names.
    res.writeHead(302, { location: `${settings.origin}${url}` })
    return res.end()
  }
  const hub = { target: settings.hubUrl }
  if (path === ISSUER_PATH || path.startsWith(`${ISSUER_PATH}/`)) {
    cleanRequest(req, FRONT_COOKIE)
    return proxy.web(req, res, { target: `http://127.0.0.1:${settings.issuerPort}` })
  }
  if (path === CALLBACK_PATH) return finishLogin(state, req, res)
  if (path === signOutPath(settings)) return signOut(state, req, res)
  // What reaches the hub without a session: `up` and monitoring wait on it.
  if (path === `${settings.baseUrl}hub/health`) {
    cleanRequest(req, LOGIN_COOKIE)
    return proxy.web(req, res, hub)
  }
  const id = cookiesOf(req).get(names.frontSession) ?? ''
  const session = await liveSession(state, id)
  if (!session) {
    if (isNavigation(req)) return startLogin(state, req, res)
    const text = 'Your login session has ended: reload the page to log in again.'
    return textPage(res, 401, 'Session expired', text, settings.baseUrl)
  }
  cleanRequest(req, LOGIN_COOKIE)
  if (path === `${settings.baseUrl}hub/logout`) {
    // The hub's logout ends the front's and the issuer's sessions too, when a page of this origin asked for it.
    if (!sameOrigin(req, settings.origin)) return confirmLogout(state, res, id, settings.baseUrl)
    await endSession(state, id, ' logged out')
    addedCookies.set(req, cookie(names.frontSession, '', 0))
  }
  // The token goes to the hub's login only, by the path exactly as the hub's proxy routes it.
  if (url.split('?')[0] === hubLoginPath(settings)) req.headers[TOKEN_HEADER] = session.tokenSet.id_token
  proxy.web(req, res, hub)
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
  const session = await liveSession(state, cookiesOf(req).get(state.names.frontSession) ?? '')
  if (!session) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n')
    return
  }
  cleanRequest(req, LOGIN_COOKIE)
  proxy.ws(req, socket, head, { target: state.settings.hubUrl })
}

/**
 * The front's HTTP server (not yet listening).
 * @param {Settings} settings
 * @param {import('./settings.mjs').Log} [log] where sessions opened and ended, and failures, are said
 * @param {Partial<Limits>} [limits] the tests change them
 */
export function createFront(settings, log = logLine, limits = {}) {
  const state = frontState(settings, log, { ...LIMITS, ...limits })
  // xfwd off: the front sets the forwarding headers itself, after dropping the client's.
  const proxy = createProxyServer({ xfwd: false })
  proxy.on('proxyRes', (proxyRes, req) => {
    const added = addedCookies.get(req)
    if (added) proxyRes.headers['set-cookie'] = [...(proxyRes.headers['set-cookie'] ?? []), added]
  })
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
