// Cheap checks that run before `up` creates anything.
import { accessSync, constants, statSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { UserError } from './errors.ts'

/** Fails when `host:port` cannot be bound, e.g. another environment or program holds it. */
export async function checkPortFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer()
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        new UserError(
          error.code === 'EADDRINUSE'
            ? `${host}:${port} is already in use; stop what holds it (\`ss -ltnp 'sport = :${port}'\` shows it), or choose another port with --port`
            : `cannot check ${host}:${port}: ${error.code ?? error.message}`,
        ),
      )
    })
    server.listen(port, host, () => server.close(() => resolve()))
  })
}

/** Where `tool` would be run from: itself when it names a path, otherwise the first executable file of that name on PATH. */
export function findExecutable(tool: string, searchPath: string = process.env.PATH ?? ''): string | undefined {
  const candidates = tool.includes('/')
    ? [tool]
    : searchPath
        .split(':')
        .filter(Boolean)
        .map((dir) => path.join(dir, tool))
  return candidates.find((file) => {
    try {
      accessSync(file, constants.X_OK)
      return statSync(file).isFile()
    } catch {
      return false
    }
  })
}

/** Fails with how to install `tool` when it is not on PATH (looked up, not run: no process to start). */
export async function checkTool(tool: string, install: string): Promise<void> {
  if (!findExecutable(tool)) throw new UserError(`${tool} is not installed; ${install}`)
}
