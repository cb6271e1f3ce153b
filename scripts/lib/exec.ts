// Running external commands (podman, git) through zx: arguments are passed
// as an array (zx quotes each one), output can stream line by line into a
// task, and every running child is known so an interrupt can stop it.
import type { Readable } from 'node:stream'
import { $, type ProcessPromise, ProcessOutput } from 'zx/core'
import { onOff } from './cli.ts'
import { CommandError } from './errors.ts'
import { redact } from './redact.ts'

export interface ExecOptions {
  /** Data for the command's standard input. */
  input?: string | Buffer | Readable
  /** Called for each line the command prints (stdout and stderr), redacted. */
  onLine?: (line: string) => void
  /** Resolve with the output instead of throwing when the command fails. */
  nothrow?: boolean
  cwd?: string
}

export interface ExecResult {
  stdout: string
  stderr: string
  exitCode: number
}

const running = new Set<ProcessPromise>()

/**
 * JH_SLURM_TRACE on: every command to stderr, with when it ran (seconds
 * since the step started) and its exit. Read at each call: a value that is
 * neither on nor off fails the command (the dispatcher checks it first).
 */
export const tracing = (): boolean => onOff('JH_SLURM_TRACE')

/** Stops every command still running (used on SIGINT/SIGTERM). */
export async function killRunning(): Promise<void> {
  await Promise.allSettled([...running].map((p) => p.kill('SIGTERM')))
}

function splitLines(onLine: (line: string) => void): (chunk: Buffer | string) => void {
  let rest = ''
  return (chunk) => {
    rest += chunk.toString()
    const lines = rest.split(/\r?\n|\r/)
    rest = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) onLine(redact(line))
  }
}

export async function exec(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv
  if (!cmd) throw new Error('exec: empty command')
  const shown = argv.join(' ')
  const trace = tracing()
  const started = trace ? performance.now() : 0
  const p = $({
    quiet: true,
    verbose: false,
    nothrow: true,
    cwd: options.cwd,
    input: typeof options.input === 'string' || Buffer.isBuffer(options.input) ? options.input : undefined,
  })`${cmd} ${args}`
  running.add(p)
  if (options.onLine) {
    const forward = splitLines(options.onLine)
    p.stdout.on('data', forward)
    p.stderr.on('data', forward)
  }
  if (options.input && typeof options.input !== 'string' && !Buffer.isBuffer(options.input)) {
    const input = options.input
    input.on('error', (error) => p.stdin.destroy(error))
    input.pipe(p.stdin)
  }
  let out: ProcessOutput
  try {
    out = await p
  } catch (error) {
    if (error instanceof ProcessOutput) out = error
    else throw new CommandError(shown, 127, error instanceof Error ? error.message : String(error))
  } finally {
    running.delete(p)
  }
  if (trace) {
    const at = (ms: number) => (ms / 1000).toFixed(3)
    process.stderr.write(`[trace] ${at(started)}..${at(performance.now())} s exit ${out.exitCode}: ${redact(shown)}\n`)
  }
  const result = { stdout: out.stdout, stderr: redact(out.stderr), exitCode: out.exitCode ?? 1 }
  if (result.exitCode !== 0 && !options.nothrow) {
    // zx runs commands through a shell, which says 127 for a missing one.
    throw new CommandError(
      shown,
      result.exitCode,
      result.exitCode === 127 ? `${cmd}: command not found` : result.stderr,
    )
  }
  return result
}
