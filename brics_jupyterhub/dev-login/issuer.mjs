// @ts-check
// dev_realauth's development OpenID Connect issuer, on oidc-provider: users
// are the dev users, their ID tokens carry `short_name` and the `projects`
// claim in bricsauthenticator v0.7.0's shape, and the login asks for the
// run's password. It listens on 127.0.0.1 inside the pod; browsers and the
// hub reach it through the login front, under /oidc of the published port.
import crypto from 'node:crypto'
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import Provider, { interactionPolicy } from 'oidc-provider'
import {
  callbackUrl,
  cookieNames,
  escapeHtml,
  ISSUER_PATH,
  logLine,
  OTHER_PLATFORM,
  PORTAL,
  rateLimiter,
  readPassword,
  readSettings,
  runMain,
  readForm,
} from './settings.mjs'

/** @typedef {import('./settings.mjs').Settings} Settings */

/** Requests per minute and client address to the authorization and login endpoints (a person needs about four per login). */
export const REQUESTS_PER_MINUTE = 600
/** Entries anyone can make without a password (interactions, codes, anonymous sessions): the oldest go first beyond this. */
export const TRANSIENT_LIMIT = 5000
/** Only a login makes these: they are kept until they expire, never pushed out by other traffic. */
const LIVE_MODELS = new Set(['Session', 'Grant', 'RefreshToken', 'AccessToken'])

/**
 * The issuer's storage, in memory. oidc-provider's own in-memory adapter is
 * one LRU of 1,000 entries for everything, so anonymous requests to /auth
 * push live sessions, grants and refresh tokens out. Here what only a login
 * makes is kept apart, until it expires; the rest is bounded.
 * @param {number} [transientLimit]
 */
export function issuerStore(transientLimit = TRANSIENT_LIMIT) {
  /** @typedef {{ payload: Record<string, any>, expires: number }} Entry */
  /** @type {Map<string, Entry>} */
  const live = new Map()
  /** @type {Map<string, Entry>} */
  const transient = new Map()
  /** @type {Map<string, Set<string>>} keys of the tokens of each grant */
  const grants = new Map()

  /** @param {string} key */
  const get = (key) => {
    for (const map of [live, transient]) {
      const entry = map.get(key)
      if (!entry) continue
      if (entry.expires > Date.now()) return entry.payload
      map.delete(key)
    }
    return undefined
  }
  /** @type {(key: string, payload: Record<string, any>, expiresIn: number | undefined, isLive: boolean) => void} */
  const put = (key, payload, expiresIn, isLive) => {
    const entry = { payload, expires: expiresIn ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY }
    live.delete(key)
    transient.delete(key)
    if (isLive) return void live.set(key, entry)
    transient.set(key, entry)
    if (transient.size > transientLimit) transient.delete(transient.keys().next().value ?? '')
  }
  /** @param {string} key */
  const remove = (key) => {
    live.delete(key)
    transient.delete(key)
  }

  class Adapter {
    /** @param {string} model */
    constructor(model) {
      this.model = model
    }
    /** @param {string} id */
    key(id) {
      return `${this.model}:${id}`
    }
    /** @param {string} id */
    async find(id) {
      return get(this.key(id))
    }
    /** @param {string} uid */
    async findByUid(uid) {
      const id = get(`sessionUid:${uid}`)
      return id ? get(this.key(String(id.id))) : undefined
    }
    async findByUserCode() {
      return undefined
    }
    /**
     * @param {string} id
     * @param {Record<string, any>} payload
     * @param {number} [expiresIn] seconds
     */
    async upsert(id, payload, expiresIn) {
      const key = this.key(id)
      // A session is live once someone logged in with it.
      const isLive = LIVE_MODELS.has(this.model) && (this.model !== 'Session' || Boolean(payload.accountId))
      if (this.model === 'Session') put(`sessionUid:${payload.uid}`, { id }, expiresIn, isLive)
      if (payload.grantId) grants.set(payload.grantId, (grants.get(payload.grantId) ?? new Set()).add(key))
      put(key, payload, expiresIn, isLive)
    }
    /** @param {string} id */
    async consume(id) {
      const payload = get(this.key(id))
      if (payload) payload.consumed = Math.floor(Date.now() / 1000)
    }
    /** @param {string} id */
    async destroy(id) {
      remove(this.key(id))
    }
    /** @param {string} grantId */
    async revokeByGrantId(grantId) {
      for (const key of grants.get(grantId) ?? []) remove(key)
      grants.delete(grantId)
    }
  }

  return {
    Adapter,
    /** How many entries each part holds. */
    sizes: () => ({ live: live.size, transient: transient.size }),
    /**
     * Ends the sessions that hold a grant (when its refresh token is revoked: a logout); returns their accounts.
     * @param {string} grantId
     */
    endSessionsOf(grantId) {
      const accounts = []
      for (const [key, { payload }] of live) {
        if (!key.startsWith('Session:')) continue
        const authorizations = Object.values(payload.authorizations ?? {})
        if (!authorizations.some((a) => a.grantId === grantId)) continue
        remove(key)
        remove(`sessionUid:${payload.uid}`)
        accounts.push(String(payload.accountId))
      }
      return accounts
    },
    /** Forgets what expired. */
    sweep() {
      const now = Date.now()
      for (const map of [live, transient]) for (const [key, entry] of map) if (entry.expires <= now) map.delete(key)
      for (const [grantId, keys] of grants) {
        for (const key of keys) if (!live.has(key) && !transient.has(key)) keys.delete(key)
        if (keys.size === 0) grants.delete(grantId)
      }
    },
  }
}

/**
 * The issuer asks for the password at every authorization, whatever the
 * request's prompt: a browser's issuer session, replayed, logs no one in.
 */
function loginEveryTime() {
  const policy = interactionPolicy.base()
  const { Check } = interactionPolicy
  policy
    .get('login')
    ?.checks.add(
      new Check('every_time', 'the development issuer asks for the password at each login', (ctx) =>
        ctx.oidc.result?.login ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT,
      ),
    )
  return policy
}

/**
 * The `projects` claim of a user: one `<PROJECT>.brics` per dev user of
 * theirs with a resource on the platform, and one per off-platform entry with
 * a resource on another platform only.
 * @param {Settings} settings
 * @param {string} user
 */
export function projectsClaim(settings, user) {
  /** @type {(project: string, platform: string) => [string, object]} */
  const entry = (project, platform) => [
    `${project}.${PORTAL}`,
    { name: `Dev project ${project}`, resources: [{ name: platform, username: `${user}.${project}` }] },
  ]
  return Object.fromEntries([
    ...settings.devUsers.filter((u) => u.user === user).map((u) => entry(u.project, settings.platform)),
    ...settings.otherProjects.filter((u) => u.user === user).map((u) => entry(u.project, OTHER_PLATFORM)),
  ])
}

/**
 * The `groups` claim of a user: brics-admins for the deploy setting devIssuerAdmins' users.
 * @param {Settings} settings
 * @param {string} user
 */
export const groupsClaim = (settings, user) => (settings.admins.includes(user) ? [ADMIN_GROUP] : [])
const ADMIN_GROUP = 'brics-admins'

/**
 * Who can log in: every <USER> of the dev users and of the off-platform entries.
 * @param {Settings} settings
 */
export const knownUsers = (settings) =>
  new Set([...settings.devUsers, ...settings.otherProjects].map((entry) => entry.user))

/**
 * Consent is implied for the one client: a grant of the openid scope is made on first use.
 * @param {import('oidc-provider').KoaContextWithOIDC} ctx
 */
async function loadExistingGrant(ctx) {
  const { client, session, result } = ctx.oidc
  if (!client || !session) return undefined
  const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId)
  const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined
  if (existing || !session.accountId) return existing
  const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId })
  grant.addOIDCScope('openid')
  await grant.save()
  return grant
}

/** @type {(title: string, body: string) => string} */
const page = (title, body) =>
  `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`

/**
 * An error as a short page: what went wrong, no stack, and a way back to the hub.
 * @param {Settings} settings
 * @param {string} message
 */
const errorPage = (settings, message) =>
  page(
    'Login error',
    `<h1>Login error</h1><p>${escapeHtml(message)}</p><p><a href="${escapeHtml(settings.baseUrl)}">Start again</a></p>`,
  )

/**
 * The oidc-provider configuration: one public client (the front, PKCE), RS256 ID tokens that expire in minutes.
 * @param {Settings} settings
 * @param {ReturnType<typeof issuerStore>} store
 * @returns {import('oidc-provider').Configuration}
 */
export function providerConfiguration(settings, store) {
  const jwk = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' })
  const users = knownUsers(settings)
  return {
    clients: [
      {
        client_id: settings.audience,
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: [callbackUrl(settings)],
      },
    ],
    jwks: { keys: [{ ...jwk, kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' }] },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    adapter: store.Adapter,
    // Its cookies go to its own path only, under names of this port: the hub and the users' servers never see them.
    // The session cookie is the long one; the short ones (interaction, resume) get narrower paths under it from
    // oidc-provider itself, which a `path` here would widen. SameSite=Lax: the front and the issuer are one origin.
    cookies: {
      keys: [crypto.randomBytes(32).toString('base64url')],
      names: cookieNames(settings).issuer,
      long: { httpOnly: true, sameSite: 'lax', path: ISSUER_PATH },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    claims: { openid: ['sub', 'short_name', 'projects', 'groups'] },
    // BriCS's tokens carry the claims in the ID token itself, which is what the hub reads.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) =>
      users.has(sub)
        ? {
            accountId: sub,
            claims: async () => ({
              sub,
              short_name: sub,
              projects: projectsClaim(settings, sub),
              groups: groupsClaim(settings, sub),
            }),
          }
        : undefined,
    loadExistingGrant,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    pkce: { required: () => true },
    // Revocation is the front's logout: revoking the refresh token ends the grant, and with it the session.
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      revocation: { enabled: true },
    },
    interactions: {
      policy: loginEveryTime(),
      url: (_ctx, interaction) => `${ISSUER_PATH}/interaction/${interaction.uid}`,
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html'
      ctx.body = errorPage(settings, `${out.error}: ${out.error_description ?? ''}`)
    },
    ttl: {
      AccessToken: settings.tokenLifetime,
      IdToken: settings.tokenLifetime,
      AuthorizationCode: 60,
      Interaction: 600,
      RefreshToken: settings.sessionLifetime,
      Grant: settings.sessionLifetime,
      Session: settings.sessionLifetime,
    },
  }
}

/**
 * @param {string} uid
 * @param {string} message
 */
function loginPage(uid, message = '') {
  return page(
    'Log in: dev_realauth',
    '<h1>Log in to dev_realauth</h1>' +
      '<p>Development issuer. The password is the one <code>npm run up</code> printed for this run.</p>' +
      (message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '') +
      `<form method="post" action="${ISSUER_PATH}/interaction/${escapeHtml(uid)}/login">` +
      '<label for="username">User name:</label> ' +
      '<input type="text" name="username" id="username" autocomplete="username" autofocus><br>' +
      '<label for="password">Password:</label> ' +
      '<input type="password" name="password" id="password" autocomplete="current-password"><br>' +
      '<button type="submit">Log in</button></form>',
  )
}

/** @type {(a: string, b: string) => boolean} */
const sameSecret = (a, b) => {
  /** @param {string} s */
  const hash = (s) => crypto.createHash('sha256').update(s).digest()
  return crypto.timingSafeEqual(hash(a), hash(b))
}

/**
 * GET shows the login form; POST checks user name and password and finishes the interaction.
 * @param {Provider} provider
 * @param {Settings} settings
 * @param {string} password
 * @param {http.IncomingMessage} req
 * @param {http.ServerResponse} res
 * @param {import('./settings.mjs').Log} log
 */
async function interaction(provider, settings, password, req, res, log) {
  const details = await provider.interactionDetails(req, res)
  /** @type {(status: number, html: string) => void} */
  const send = (status, html) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    res.end(html)
  }
  if (req.method !== 'POST') return send(200, loginPage(details.uid))
  const form = await readForm(req)
  const user = form.get('username') ?? ''
  const known = knownUsers(settings).has(user)
  if (!known || !sameSecret(form.get('password') ?? '', password)) {
    log(`login refused: ${known ? `wrong password for ${user}` : `unknown user ${JSON.stringify(user.slice(0, 40))}`}`)
    return send(401, loginPage(details.uid, 'Wrong user name or password.'))
  }
  log(`login: ${user}`)
  await provider.interactionFinished(req, res, { login: { accountId: user } }, { mergeWithLastSubmission: false })
}

/**
 * Who sent a request: the front puts the client's address in X-Forwarded-For (replacing what the client sent).
 * @param {http.IncomingMessage} req
 */
const clientOf = (req) =>
  String(req.headers['x-forwarded-for'] ?? '')
    .split(',')
    .pop()
    ?.trim() ||
  req.socket.remoteAddress ||
  ''

/**
 * The issuer's HTTP handler: its own login pages, and oidc-provider mounted at /oidc.
 * @param {Settings} settings
 * @param {string} password
 * @param {import('./settings.mjs').Log} [log] where logins and refusals are said
 * @param {{ requestsPerMinute?: number, transientLimit?: number }} [limits] the tests change them
 */
export function createIssuer(settings, password, log = logLine, limits = {}) {
  const store = issuerStore(limits.transientLimit)
  const provider = new Provider(settings.issuer, providerConfiguration(settings, store))
  provider.on('grant.revoked', (_ctx, grantId) => {
    for (const account of store.endSessionsOf(grantId)) log(`session ended: ${account}, logged out at the front`)
  })
  setInterval(() => store.sweep(), 60_000).unref()
  const withinLimit = rateLimiter(limits.requestsPerMinute ?? REQUESTS_PER_MINUTE)
  const callback = provider.callback()
  const interactionPath = new RegExp(`^${ISSUER_PATH}/interaction/[^/?]+(/login)?(\\?|$)`)
  const limitedPath = new RegExp(`^${ISSUER_PATH}/(auth|interaction)(/|\\?|$)`)
  /** @type {http.RequestListener} */
  const handler = (req, res) => {
    const url = req.url ?? '/'
    if (limitedPath.test(url) && !withinLimit(clientOf(req))) {
      res.writeHead(429, { 'content-type': 'text/html; charset=utf-8', 'retry-after': '60' })
      res.end(errorPage(settings, 'Too many login requests from your address: wait a minute.'))
    } else if (interactionPath.test(url)) {
      interaction(provider, settings, password, req, res, log).catch((error) => {
        log(`login failed: ${error.message}`)
        res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
        res.end(errorPage(settings, error.message))
      })
    } else if (url === ISSUER_PATH || url.startsWith(`${ISSUER_PATH}/`)) {
      // oidc-provider finds its mount path from originalUrl, as under Express.
      Object.assign(req, { originalUrl: url, url: url.slice(ISSUER_PATH.length) || '/' })
      callback(req, res)
    } else {
      res.writeHead(404).end()
    }
  }
  return { provider, handler, store }
}

async function main() {
  const settings = readSettings()
  const { handler } = createIssuer(settings, readPassword())
  http.createServer(handler).listen(settings.issuerPort, '127.0.0.1', () => {
    process.stdout.write(`dev issuer ${settings.issuer} listening on 127.0.0.1:${settings.issuerPort}\n`)
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runMain('dev-issuer', main)
