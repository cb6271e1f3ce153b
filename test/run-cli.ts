// Runs `jh-slurm-pod <argv>` in this process, as bin/jh-slurm-pod.mjs does,
// capturing what it prints (a spawned node with tsx costs half a second).
import { dispatch } from '../scripts/commands.ts'
import { reportError } from '../scripts/lib/errors.ts'

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

export async function runCli(argv: string[]): Promise<CliRun> {
  const out = { stdout: '', stderr: '' }
  const writes = { stdout: process.stdout.write, stderr: process.stderr.write }
  const capture = (stream: 'stdout' | 'stderr') =>
    ((chunk: string | Uint8Array) => {
      out[stream] += chunk.toString()
      return true
    }) as typeof process.stdout.write
  process.stdout.write = capture('stdout')
  process.stderr.write = capture('stderr')
  let code: number
  try {
    code = await dispatch(argv)
  } catch (error) {
    code = reportError(error)
  } finally {
    process.stdout.write = writes.stdout
    process.stderr.write = writes.stderr
  }
  return { code, ...out }
}
