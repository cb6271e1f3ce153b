// @ts-check
// Settings shared by dev_realauth's development issuer and login front, read
// from the environment the pod gives both containers: the deploy settings,
// the dev users, what the launcher passes as pod facts (the ports inside the
// pod, the deploy settings' variables: scripts/lib/pod-facts.ts, never a
// copy here) and, for the issuer, the run's password.
// Plain JavaScript: it runs in the hub image's Node (18 in the stand-in base,
// 20 in the real one) without a build step.
import fs from 'node:fs'

/** The issuer is served under this path of the front's origin. */
export const ISSUER_PATH = '/oidc'
/** The front's own paths; everything else goes to the hub. */
export const CALLBACK_PATH = '/_front/callback'
/** The sign-out of the front, under the hub's base URL: where the OAuth2 proxy in front of production's hub has it. */
export const SIGN_OUT_PATH = '_oidc/sign_out'
export const PASSWORD_FILE = '/srv/dev-login/password'
/** The portal part of project keys (<PROJECT>.brics), as upstream's dummy login has it. */
export const PORTAL = 'brics'
/** The platform of the resources of off-platform projects. */
export const OTHER_PLATFORM = 'brics.elsewhere.clusters.shared'

export class SettingsError extends Error {}

/** @typedef {{ name: string, user: string, project: string }} DevName */
/**
 * @typedef {object} Settings
 * @property {string} issuer the issuer URL, as the browser and the hub see it
 * @property {string} origin the front's origin (the issuer URL's)
 * @property {number} port the front's port (the issuer URL's, the published one)
 * @property {string} audience the tokens' aud: the front's client ID
 * @property {string} platform resources on it grant access
 * @property {DevName[]} devUsers
 * @property {DevName[]} otherProjects projects with a resource on another platform only
 * @property {string[]} admins users whose tokens say they are in the group brics-admins
 * @property {number} tokenLifetime seconds
 * @property {number} sessionLifetime seconds
 * @property {number} issuerPort where the issuer listens on 127.0.0.1
 * @property {string} hubUrl where the front passes requests to (the hub's proxy)
 * @property {string} baseUrl the hub's URL prefix (deploy setting baseUrl), e.g. /jupyter/
 */

const NAME = /^[a-z_][a-z0-9_-]*\.[a-z_][a-z0-9_-]*$/

/**
 * `<USER>.<PROJECT>` names separated by blanks, as in DEV_USER_CONFIG_UNIX_USERNAMES.
 * @param {string | undefined} text
 * @param {string} what
 * @returns {DevName[]}
 */
export function parseNames(text, what) {
  const names = (text ?? '').split(/\s+/).filter(Boolean)
  const bad = names.find((name) => !NAME.test(name))
  if (bad !== undefined) throw new SettingsError(`${what}: "${bad}" is not of the form <USER>.<PROJECT>`)
  return names.map((name) => {
    const [user = '', project = ''] = name.split('.')
    return { name, user, project }
  })
}

/**
 * Plain user names (<USER>, no project), blank-separated.
 * @param {string | undefined} text
 * @param {string} what
 */
export function parseUsers(text, what) {
  const names = (text ?? '').split(/\s+/).filter(Boolean)
  const bad = names.find((name) => !/^[a-z_][a-z0-9_-]*$/.test(name))
  if (bad !== undefined) throw new SettingsError(`${what}: "${bad}" is not a user name (<USER>, without a project)`)
  return names
}

/**
 * @param {string | undefined} value
 * @param {string} what
 */
function seconds(value, what) {
  if (value === undefined || value === '') throw new SettingsError(`${what} is not set`)
  if (!/^[1-9][0-9]*$/.test(value)) throw new SettingsError(`${what} must be a whole number of seconds, got "${value}"`)
  return Number(value)
}

/**
 * @param {NodeJS.ProcessEnv} env
 * @param {string} name
 */
function required(env, name) {
  const value = env[name]
  if (!value) throw new SettingsError(`${name} is not set`)
  return value
}

/**
 * Everything both programs need, checked once. `issuer` is the issuer's URL
 * as the browser and the hub see it (http://127.0.0.1:<published port>/oidc).
 * @param {NodeJS.ProcessEnv} env
 * @returns {Settings}
 */
export function readSettings(env = process.env) {
  /** The variable of each deploy setting, as the launcher names it. */
  const variables = JSON.parse(required(env, 'JH_SLURM_DEPLOY_VARIABLES'))
  /** @param {string} key */
  const setting = (key) => {
    if (!(key in variables)) throw new SettingsError(`${key} is not a deploy setting of the launcher's`)
    return env[variables[key]]
  }
  /** @param {string} key */
  const needed = (key) => required(env, variables[key] ?? key)
  /** @param {string} name */
  const port = (name) => {
    const value = Number(required(env, name))
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new SettingsError(`${name} is not a port`)
    return value
  }
  const issuer = needed('oidcServer')
  let url
  try {
    url = new URL(issuer)
  } catch {
    throw new SettingsError(`oidcServer is not a URL: "${issuer}"`)
  }
  if (url.pathname !== ISSUER_PATH) throw new SettingsError(`oidcServer must end in ${ISSUER_PATH}, got "${issuer}"`)
  // The launcher always sets the lifetimes (scripts/lib/dev-issuer.ts holds their defaults).
  const tokenLifetime = seconds(setting('devIssuerTokenLifetime'), 'devIssuerTokenLifetime')
  const sessionLifetime = seconds(setting('devIssuerSessionLifetime'), 'devIssuerSessionLifetime')
  if (sessionLifetime < tokenLifetime)
    throw new SettingsError('devIssuerSessionLifetime must not be shorter than devIssuerTokenLifetime')
  return {
    issuer,
    origin: url.origin,
    port: Number(url.port || 80),
    audience: needed('jwtAudience'),
    platform: needed('bricsPlatform'),
    devUsers: parseNames(env.DEV_USER_CONFIG_UNIX_USERNAMES, 'DEV_USER_CONFIG_UNIX_USERNAMES'),
    otherProjects: parseNames(setting('devIssuerOtherProjects'), 'devIssuerOtherProjects'),
    admins: parseUsers(setting('devIssuerAdmins'), 'devIssuerAdmins'),
    tokenLifetime,
    sessionLifetime,
    // Where each part listens inside the pod. The front's port is the issuer URL's, which is also the published one.
    issuerPort: port('JH_SLURM_ISSUER_PORT'),
    hubUrl: `http://127.0.0.1:${port('JH_SLURM_PROXY_PORT')}`,
    baseUrl: `/${needed('baseUrl').replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/'),
  }
}

/**
 * The run's password (the dummy login's): the file the pod mounts from the dev-login Secret.
 * @returns {string}
 */
export function readPassword(file = PASSWORD_FILE) {
  let text
  try {
    text = fs.readFileSync(file, 'utf8').trim()
  } catch (error) {
    const { code, message } = /** @type {NodeJS.ErrnoException} */ (error)
    throw new SettingsError(`cannot read the login password ${file}: ${code ?? message}`)
  }
  if (!text) throw new SettingsError(`the login password file ${file} is empty`)
  return text
}

/**
 * The redirect URI of the front.
 * @param {Settings} settings
 */
export const callbackUrl = (settings) => `${settings.origin}${CALLBACK_PATH}`

/**
 * The names of the front's and the issuer's cookies. They carry the front's
 * port: browsers send cookies of 127.0.0.1 to every port, and two
 * environments must not take each other's sessions.
 * @param {Settings} settings
 */
export const cookieNames = (settings) => ({
  frontSession: `jh_front_session_${settings.port}`,
  frontState: `jh_front_state_${settings.port}`,
  issuer: {
    session: `jh_issuer_session_${settings.port}`,
    interaction: `jh_issuer_interaction_${settings.port}`,
    resume: `jh_issuer_resume_${settings.port}`,
  },
})

/** Cookies of a front or an issuer (of any port, and oidc-provider's own names): the hub never gets them. */
export const LOGIN_COOKIE = /^(?:jh_front_|jh_issuer_|_session|_interaction|_state\.)/

/**
 * A limit of requests per minute and key (a client's address); true while the key is within it.
 * @param {number} perMinute
 * @returns {(key: string) => boolean}
 */
export function rateLimiter(perMinute) {
  /** @type {Map<string, { count: number, resets: number }>} */
  const windows = new Map()
  return (key) => {
    const now = Date.now()
    let window = windows.get(key)
    if (!window || window.resets <= now) {
      windows.delete(key)
      window = { count: 0, resets: now + 60_000 }
      windows.set(key, window)
      // Bounded: the oldest window goes first.
      if (windows.size > 10_000) windows.delete(windows.keys().next().value ?? '')
    }
    window.count += 1
    return window.count <= perMinute
  }
}

/** @param {unknown} text */
export const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * One line of a program's log (its container's output, `jh-slurm-pod logs <env> login`), with the time.
 * @typedef {(text: string) => void} Log
 * @type {Log}
 */
export const logLine = (text) => {
  process.stdout.write(`${new Date().toISOString()} ${text}\n`)
}

/**
 * Runs a program's main; a settings problem is one line on stderr and exit 1, never a stack trace.
 * @param {string} name
 * @param {() => Promise<void>} main
 */
export function runMain(name, main) {
  // PID 1 of its container: without this, stopping the pod would wait for podman's kill timeout.
  for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0))
  main().catch((error) => {
    const message = error instanceof SettingsError ? error.message : (error?.stack ?? String(error))
    process.stderr.write(`${name}: ${message}\n`)
    process.exit(1)
  })
}

/**
 * A posted form (application/x-www-form-urlencoded), at most 10,000 bytes.
 * @param {import('node:http').IncomingMessage} req
 */
export async function readForm(req) {
  let body = ''
  for await (const chunk of req) {
    body += chunk
    if (body.length > 10_000) throw new Error('form too large')
  }
  return new URLSearchParams(body)
}
