// @ts-check
// dev_realauth's development OpenID Connect issuer, on oidc-provider: users
// are the dev users, their ID tokens carry `short_name` and the `projects`
// claim in bricsauthenticator v0.7.0's shape, and the login asks for the
// run's password. It listens on 127.0.0.1 inside the pod; browsers and the
// hub reach it through the login front, under /oidc of the published port.
import crypto from 'node:crypto'
import http from 'node:http'
import { pathToFileURL } from 'node:url'
import Provider from 'oidc-provider'
import {
  callbackUrl,
  escapeHtml,
  ISSUER_PATH,
  logLine,
  OTHER_PLATFORM,
  PORTAL,
  readPassword,
  readSettings,
  runMain,
} from './settings.mjs'

/** @typedef {import('./settings.mjs').Settings} Settings */

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
 * @returns {import('oidc-provider').Configuration}
 */
export function providerConfiguration(settings) {
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
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    claims: { openid: ['sub', 'short_name', 'projects'] },
    // BriCS's tokens carry the claims in the ID token itself, which is what the hub reads.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) =>
      users.has(sub)
        ? { accountId: sub, claims: async () => ({ sub, short_name: sub, projects: projectsClaim(settings, sub) }) }
        : undefined,
    loadExistingGrant,
    issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `${ISSUER_PATH}/interaction/${interaction.uid}` },
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

/** @param {http.IncomingMessage} req */
async function readForm(req) {
  let body = ''
  for await (const chunk of req) {
    body += chunk
    if (body.length > 10_000) throw new Error('form too large')
  }
  return new URLSearchParams(body)
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
 * The issuer's HTTP handler: its own login pages, and oidc-provider mounted at /oidc.
 * @param {Settings} settings
 * @param {string} password
 * @param {import('./settings.mjs').Log} [log] where logins and refusals are said
 */
export function createIssuer(settings, password, log = logLine) {
  const provider = new Provider(settings.issuer, providerConfiguration(settings))
  const callback = provider.callback()
  const interactionPath = new RegExp(`^${ISSUER_PATH}/interaction/[^/?]+(/login)?(\\?|$)`)
  /** @type {http.RequestListener} */
  const handler = (req, res) => {
    const url = req.url ?? '/'
    if (interactionPath.test(url)) {
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
  return { provider, handler }
}

async function main() {
  const settings = readSettings()
  const { handler } = createIssuer(settings, readPassword())
  http.createServer(handler).listen(settings.issuerPort, '127.0.0.1', () => {
    process.stdout.write(`dev issuer ${settings.issuer} listening on 127.0.0.1:${settings.issuerPort}\n`)
  })
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runMain('dev-issuer', main)
