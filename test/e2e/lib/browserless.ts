// A small HTTP client for the hub: a cookie jar, manual redirects, and the
// _xsrf handling JupyterHub's forms and API expect. It uses node:http rather
// than fetch, which always sends `Sec-Fetch-Mode: cors`: JupyterHub then
// treats every page load as a cross-site request and refuses the cookies.
import http from 'node:http'

interface RawResponse {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method,
        headers: { ...headers, ...(body ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
        timeout: 30_000,
      },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (text += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }))
        response.on('error', reject)
      },
    )
    request.on('timeout', () => request.destroy(new Error(`timeout: ${method} ${url}`)))
    request.on('error', reject)
    request.end(body)
  })
}

export interface Response {
  status: number
  url: string
  body: string
  headers: http.IncomingHttpHeaders
}

interface Cookie {
  name: string
  value: string
  path: string
}

export class HubClient {
  /** Cookies by name and path: the hub and each user server set their own `_xsrf`. */
  private jar: Cookie[] = []

  constructor(readonly base: string) {}

  get cookies(): Map<string, string> {
    return new Map(this.jar.map((c) => [c.name, c.value]))
  }

  /** Cookies for a URL, most specific path first, as browsers send them. */
  private cookieHeader(url: string): string {
    const { pathname } = new URL(url)
    return this.jar
      .filter(
        (c) =>
          pathname === c.path.replace(/\/$/, '') || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .sort((a, b) => b.path.length - a.path.length)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ')
  }

  private keepCookies(headers: http.IncomingHttpHeaders, url: string): void {
    for (const line of headers['set-cookie'] ?? []) {
      const [pair = '', ...attributes] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq < 0) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const pathAttr = attributes.map((a) => a.trim()).find((a) => /^path=/i.test(a))
      const cookiePath = pathAttr ? pathAttr.slice(5) : new URL(url).pathname.replace(/\/[^/]*$/, '/') || '/'
      this.jar = this.jar.filter((c) => !(c.name === name && c.path === cookiePath))
      const expired =
        /expires=[^;]*19[0-9]{2}|expires=[^;]*20(0|1|2[0-5])/i.test(line) && (value === '""' || value === '')
      if (!expired && !/max-age=0/i.test(line)) this.jar.push({ name, value, path: cookiePath })
    }
  }

  /** The Cookie header a browser sends to `path` (a WebSocket's, say). */
  cookiesFor(path: string): string {
    return this.cookieHeader(new URL(path, this.base).toString())
  }

  /** The XSRF token that applies to a URL: the most specific `_xsrf` cookie. */
  xsrfFor(url: string): string {
    return /(?:^|; )_xsrf=([^;]*)/.exec(this.cookieHeader(new URL(url, this.base).toString()))?.[1] ?? ''
  }

  /** One request, following redirects (at most 10) like a browser would. */
  async request(
    path: string,
    init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    let url = new URL(path, this.base).toString()
    let method = init.method ?? (init.form ? 'POST' : 'GET')
    let body: string | undefined = init.form
      ? new URLSearchParams(init.form).toString()
      : init.json === undefined
        ? undefined
        : JSON.stringify(init.json)
    for (let hop = 0; hop < 10; hop++) {
      const response = await send(
        url,
        method,
        {
          // A browser following a link or submitting a form.
          'sec-fetch-mode': 'navigate',
          ...(body && init.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
          ...(body && init.json !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(this.jar.length ? { cookie: this.cookieHeader(url) } : {}),
          ...init.headers,
        },
        body,
      )
      this.keepCookies(response.headers, url)
      const location = response.headers.location
      if (response.status >= 300 && response.status < 400 && location) {
        url = new URL(location, url).toString()
        method = 'GET'
        body = undefined
        continue
      }
      return { status: response.status, url, body: response.body, headers: response.headers }
    }
    throw new Error(`too many redirects from ${path}`)
  }

  /** An API call authenticated by the login cookie, with the XSRF header. */
  api(path: string, method = 'GET', json?: unknown): Promise<Response> {
    return this.request(path, {
      method,
      json,
      headers: { 'X-XSRFToken': this.xsrfFor(path), 'sec-fetch-mode': 'same-origin' },
    })
  }
}

/** The value of a hidden `_xsrf` field in an HTML form. */
export function formXsrf(html: string): string {
  return /name="_xsrf" value="([^"]+)"/.exec(html)?.[1] ?? /[?&]_xsrf=([^"&]+)/.exec(html)?.[1] ?? ''
}

/** The action of the first form in a page (JupyterHub puts _xsrf in it). */
export function formAction(html: string): string {
  return (/<form[^>]*action="([^"]+)"/.exec(html)?.[1] ?? '').replaceAll('&amp;', '&')
}

/** The option values of `<select name="...">` in an HTML page. */
export function selectOptions(html: string, name: string): string[] {
  const select = new RegExp(`<select[^>]*name="${name}"[^>]*>([\\s\\S]*?)</select>`).exec(html)?.[1] ?? ''
  return [...select.matchAll(/<option[^>]*value="([^"]*)"/g)].map((m) => m[1] as string)
}
