// A real OIDC issuer for the end-to-end test of dev_realauth: a discovery
// document and a JWKS on plain HTTP, and ID tokens signed with a key made for
// this run. Signing and key handling are the jose library's, not ours.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose'

/** How containers reach a port the host listens on (podman adds it to /etc/hosts). */
export const HOST_FROM_CONTAINERS = 'host.containers.internal'

type SigningKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey']

export interface TokenOptions {
  /** Seconds from now until expiry; negative for an expired token. */
  expiresIn?: number
  issuer?: string
  audience?: string
  /** Sign with a key the issuer does not publish (under the published key id). */
  foreignKey?: boolean
}

export interface Issuer {
  /** The issuer URL as the hub sees it: the tokens' "iss" and the oidcServer setting. */
  url: string
  /** How many times the hub fetched each path. */
  hits: Map<string, number>
  token(claims: JWTPayload, options?: TokenOptions): Promise<string>
  close(): Promise<void>
}

const ALG = 'RS256'
const REALM = '/realms/e2e'

export async function startIssuer(audience: string): Promise<Issuer> {
  const [{ privateKey, publicKey }, foreign] = await Promise.all([generateKeyPair(ALG), generateKeyPair(ALG)])
  const kid = `e2e-${Date.now()}`
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' }
  const hits = new Map<string, number>()
  let url = ''
  const documents: Record<string, () => unknown> = {
    [`${REALM}/.well-known/openid-configuration`]: () => ({
      issuer: url,
      jwks_uri: `${url}/protocol/openid-connect/certs`,
      id_token_signing_alg_values_supported: [ALG],
      response_types_supported: ['code'],
      subject_types_supported: ['public'],
    }),
    [`${REALM}/protocol/openid-connect/certs`]: () => ({ keys: [jwk] }),
  }
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://issuer').pathname
    hits.set(path, (hits.get(path) ?? 0) + 1)
    const document = documents[path]
    response.writeHead(document ? 200 : 404, { 'content-type': 'application/json' })
    response.end(JSON.stringify(document ? document() : { error: 'not found' }))
  })
  // All interfaces: the hub container reaches the host through podman's bridge.
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '0.0.0.0', resolve))
  url = `http://${HOST_FROM_CONTAINERS}:${(server.address() as AddressInfo).port}${REALM}`

  const sign = (key: SigningKey, claims: JWTPayload, options: TokenOptions) => {
    const now = Math.floor(Date.now() / 1000)
    return new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid, typ: 'JWT' })
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresIn ?? 300))
      .setIssuer(options.issuer ?? url)
      .setAudience(options.audience ?? audience)
      .sign(key)
  }

  return {
    get url() {
      return url
    },
    hits,
    token: (claims, options = {}) => sign(options.foreignKey ? foreign.privateKey : privateKey, claims, options),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
