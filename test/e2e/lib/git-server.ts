// A read-only git server for image builds: a bare copy of an upstream bundle
// served over git's "dumb" HTTP protocol (plain files after
// `git update-server-info`) on all interfaces, so that a RUN step reaches it
// at host.containers.internal. It stands in for the release's repository
// (GitHub), which builds cannot reach here; the build gets its URL through
// the documented build argument <PKG>_REPO.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { HOST_FROM_CONTAINERS } from './oidc-issuer.ts'

export interface GitServer {
  /** The repository's URL as a build sees it. */
  url: string
  close(): Promise<void>
}

export async function serveBundle(bundle: string, name: string): Promise<GitServer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jh-e2e-git-'))
  const repo = path.join(root, `${name}.git`)
  execFileSync('git', ['clone', '--quiet', '--bare', bundle, repo])
  execFileSync('git', ['-C', repo, 'update-server-info'])
  const server = http.createServer((request, response) => {
    const file = path.join(root, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname))
    if (!file.startsWith(`${root}/`) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream' })
    fs.createReadStream(file).pipe(response)
  })
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${HOST_FROM_CONTAINERS}:${port}/${name}.git`,
    close: async () => {
      await new Promise((resolve) => server.close(resolve))
      fs.rmSync(root, { recursive: true, force: true })
    },
  }
}
