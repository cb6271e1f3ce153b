// What a user with a running notebook server sees while `apply` restarts the
// hub: a client that calls the server's API through the proxy every 100 ms,
// and a kernel whose WebSocket was opened before. Both go through the same
// port a browser uses (the proxy, or dev_realauth's login front before it).
import crypto from 'node:crypto'
import http from 'node:http'
import type { Duplex } from 'node:stream'
import type { HubClient } from './browserless.ts'

/** An API token of the logged-in user, made through the hub's API (it reaches the user's server). */
export async function userToken(client: HubClient, user: string, prefix = 'jupyter/'): Promise<string> {
  const made = await client.api(`${prefix}hub/api/users/${user}/tokens`, 'POST', { note: 'e2e', expires_in: 3600 })
  const token = (JSON.parse(made.body) as { token?: string }).token
  if (!token) throw new Error(`no token: ${made.status} ${made.body}`)
  return token
}

export interface PollResult {
  total: number
  /** Each failed request: when (ms after the poll started) and what came back. */
  failures: Array<{ at: number; what: string }>
}

/** GETs `path` (relative to the client's base) every `intervalMs` until stopped; anything but 200 is a failure. */
export function pollEvery(
  client: HubClient,
  path: string,
  headers: Record<string, string>,
  intervalMs = 100,
): { stop: () => Promise<PollResult> } {
  const result: PollResult = { total: 0, failures: [] }
  const started = performance.now()
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const at = Math.round(performance.now() - started)
      result.total++
      try {
        const r = await client.request(path, { headers })
        if (r.status !== 200) result.failures.push({ at, what: `${r.status} ${r.body.slice(0, 80)}` })
      } catch (error) {
        result.failures.push({ at, what: (error as Error).message })
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs))
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
      return result
    },
  }
}

/** A kernel's channels WebSocket, as JupyterLab keeps one open: a minimal client (text frames, JSON messages). */
export interface KernelSocket {
  /** Runs `code` and returns what it printed; fails after `timeoutMs` or when the socket closes. */
  execute(code: string, timeoutMs?: number): Promise<string>
  readonly closed: boolean
  close(): void
}

function frame(text: string): Buffer {
  const payload = Buffer.from(text)
  const mask = crypto.randomBytes(4)
  const length = payload.length
  const head =
    length < 126
      ? Buffer.from([0x81, 0x80 | length])
      : length < 65536
        ? Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff])
        : Buffer.concat([
            Buffer.from([0x81, 0x80 | 127]),
            Buffer.from(new BigUint64Array([BigInt(length)]).buffer).reverse(),
          ])
  const masked = Buffer.from(payload.map((byte, i) => byte ^ (mask[i % 4] as number)))
  return Buffer.concat([head, mask, masked])
}

/** Splits server frames (never masked) off `buffer`; returns the messages and what is left. */
function readFrames(
  buffer: Buffer,
  socket: Duplex,
  fragments: Buffer[],
): { messages: string[]; rest: Buffer; closed: boolean } {
  const messages: string[] = []
  let rest = buffer
  let closed = false
  while (rest.length >= 2) {
    const fin = ((rest[0] as number) & 0x80) !== 0
    const opcode = (rest[0] as number) & 0x0f
    let length = (rest[1] as number) & 0x7f
    let offset = 2
    if (length === 126) {
      if (rest.length < 4) break
      length = rest.readUInt16BE(2)
      offset = 4
    } else if (length === 127) {
      if (rest.length < 10) break
      length = Number(rest.readBigUInt64BE(2))
      offset = 10
    }
    if (rest.length < offset + length) break
    const payload = rest.subarray(offset, offset + length)
    rest = rest.subarray(offset + length)
    if (opcode === 8) closed = true
    else if (opcode === 9) socket.write(Buffer.concat([Buffer.from([0x8a, 0x80]), Buffer.alloc(4), payload]))
    else if (opcode === 1 || opcode === 0) {
      fragments.push(Buffer.from(payload))
      if (fin) {
        messages.push(Buffer.concat(fragments).toString('utf8'))
        fragments.length = 0
      }
    }
  }
  return { messages, rest, closed }
}

/**
 * Starts a kernel on the user's server and opens its channels WebSocket at
 * `base` (the proxy's or the front's URL), with `headers` (a token, the
 * front's session cookie).
 */
export async function openKernel(
  client: HubClient,
  serverPrefix: string,
  headers: Record<string, string>,
): Promise<KernelSocket> {
  const started = await client.request(`${serverPrefix}api/kernels`, {
    method: 'POST',
    headers,
    json: {},
  })
  const kernel = (JSON.parse(started.body) as { id?: string }).id
  if (!kernel) throw new Error(`no kernel: ${started.status} ${started.body}`)
  const url = new URL(`${serverPrefix}api/kernels/${kernel}/channels`, client.base)
  const socket = await new Promise<Duplex>((resolve, reject) => {
    const request = http.request(url, {
      headers: {
        ...headers,
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': crypto.randomBytes(16).toString('base64'),
      },
    })
    request.on('upgrade', (_response, upgraded, head) => {
      if (head.length) upgraded.unshift(head)
      resolve(upgraded)
    })
    request.on('response', (response) => reject(new Error(`no WebSocket: ${response.statusCode}`)))
    request.on('error', reject)
    request.end()
  })
  const session = crypto.randomUUID()
  let buffer: Buffer = Buffer.alloc(0)
  const fragments: Buffer[] = []
  let closed = false
  const listeners = new Set<(message: Record<string, unknown>) => void>()
  const closers = new Set<() => void>()
  const shut = () => {
    closed = true
    for (const c of closers) c()
  }
  socket.on('data', (chunk: Buffer) => {
    const read = readFrames(Buffer.concat([buffer, chunk]), socket, fragments)
    buffer = read.rest
    for (const text of read.messages) for (const l of listeners) l(JSON.parse(text) as Record<string, unknown>)
    if (read.closed) shut()
  })
  socket.on('close', shut)
  socket.on('error', shut)
  return {
    get closed() {
      return closed
    },
    close: () => socket.destroy(),
    execute(code: string, timeoutMs = 30_000): Promise<string> {
      const id = crypto.randomUUID()
      let printed = ''
      let replied = false
      let idle = false
      return new Promise((resolve, reject) => {
        const done = (error?: Error) => {
          clearTimeout(timer)
          listeners.delete(listen)
          closers.delete(onClose)
          if (error) reject(error)
          else resolve(printed)
        }
        const timer = setTimeout(() => done(new Error(`no execute_reply within ${timeoutMs} ms`)), timeoutMs)
        const onClose = () => done(new Error('the kernel WebSocket closed'))
        const listen = (message: Record<string, unknown>) => {
          const parent = message.parent_header as { msg_id?: string } | undefined
          if (parent?.msg_id !== id) return
          const type = (message.header as { msg_type?: string }).msg_type
          const content = message.content as { text?: string; status?: string }
          // The reply (shell) and the output (iopub) travel on different
          // channels, in no set order: the run is over when the reply has come
          // and the kernel has gone idle on iopub, as JupyterLab waits.
          if (type === 'stream') printed += content.text ?? ''
          if (type === 'execute_reply') {
            if (content.status !== 'ok') return done(new Error(`execute_reply ${content.status}`))
            replied = true
          }
          if (type === 'status' && (content as { execution_state?: string }).execution_state === 'idle') idle = true
          if (replied && idle) done()
        }
        if (closed) return done(new Error('the kernel WebSocket is closed'))
        listeners.add(listen)
        closers.add(onClose)
        const header = { msg_id: id, session, username: 'e2e', msg_type: 'execute_request', version: '5.3' }
        const content = { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false }
        const message = { header, parent_header: {}, metadata: {}, content, channel: 'shell', buffers: [] }
        socket.write(frame(JSON.stringify(message)))
      })
    },
  }
}
