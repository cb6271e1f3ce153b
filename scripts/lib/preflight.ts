// Cheap checks that run before `up` creates anything.
import net from 'node:net'
import { UserError } from './errors.ts'
import { exec } from './exec.ts'

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

/** Fails with how to install `tool` when it is not on PATH. */
export async function checkTool(tool: string, probe: string[], install: string): Promise<void> {
  const result = await exec([tool, ...probe], { nothrow: true })
  if (result.exitCode === 127) throw new UserError(`${tool} is not installed; ${install}`)
}
