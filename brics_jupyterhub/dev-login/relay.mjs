// dev_realauth_nadir's issuer relay (docs/nadir.md): the issuer and the login
// front run in the stand-in Nadir server's pod, before the tunnel, as
// production's authenticating proxy does. The hub must fetch the issuer's
// discovery document and keys at the very URL the browser uses,
// http://127.0.0.1:<port>/oidc; this relay listens there inside the hub's pod
// and passes each connection, as it is, to the front on the server's pod.
import net from 'node:net'

/** @param {NodeJS.ProcessEnv} env */
export function relaySettings(env = process.env) {
  // The deploy setting oidcServer, under the variable the launcher names (scripts/lib/pod-facts.ts).
  const variables = JSON.parse(env.JH_SLURM_DEPLOY_VARIABLES ?? '{}')
  const issuer = env[variables.oidcServer] ?? ''
  const to = env.ISSUER_RELAY_TO ?? ''
  let url
  try {
    url = new URL(issuer)
  } catch {
    throw new Error(`oidcServer is not a URL: "${issuer}"`)
  }
  if (!/^[A-Za-z0-9.-]+$/.test(to)) throw new Error(`ISSUER_RELAY_TO is not a host name: "${to}"`)
  return { listenHost: url.hostname, port: Number(url.port || 80), to }
}

/** @param {{listenHost: string, port: number, to: string}} settings */
export function createRelay(settings) {
  return net.createServer((client) => {
    const server = net.connect(settings.port, settings.to)
    const end = (/** @type {Error} */ error) => {
      process.stdout.write(`issuer-relay: ${settings.to}:${settings.port}: ${error.message}\n`)
      client.destroy()
      server.destroy()
    }
    client.on('error', end)
    server.on('error', end)
    client.pipe(server).pipe(client)
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let settings
  try {
    settings = relaySettings()
  } catch (error) {
    process.stderr.write(`issuer-relay: ${/** @type {Error} */ (error).message}\n`)
    process.exit(1)
  }
  createRelay(settings).listen(settings.port, settings.listenHost, () =>
    process.stdout.write(
      `issuer-relay: ${settings.listenHost}:${settings.port} -> ${settings.to}:${settings.port} (the issuer, through the login front)\n`,
    ),
  )
}
