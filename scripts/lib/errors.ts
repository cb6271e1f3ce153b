// Errors a user can act on carry a one-line message and an exit code;
// anything else is a bug and is reported as such.
import { parseOnOff } from './on-off.ts'

export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
    this.name = 'UserError'
  }
}

/** A mistake on the command line: exit code 2, like most Unix tools. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, 2)
    this.name = 'UsageError'
  }
}

/** A command that failed; the message holds its last line of stderr. */
export class CommandError extends UserError {
  constructor(
    readonly command: string,
    readonly commandExitCode: number,
    readonly stderr: string,
  ) {
    const last = stderr.trim().split('\n').filter(Boolean).pop() ?? ''
    super(`\`${command}\` failed (exit ${commandExitCode})${last ? `: ${last}` : ''}`, 1)
    this.name = 'CommandError'
  }
}

/** JH_SLURM_DEBUG on (a value that is neither on nor off is reported by the command, and is off here). */
export const debugEnabled = (): boolean => parseOnOff(process.env.JH_SLURM_DEBUG) === true

/** Prints an error as one line (a stack only with JH_SLURM_DEBUG=1) and returns the exit code. */
export function reportError(error: unknown, prefix = 'error'): number {
  if (error instanceof UserError) {
    process.stderr.write(`${prefix}: ${error.message}\n`)
    if (debugEnabled() && error.stack) process.stderr.write(`${error.stack}\n`)
    return error.exitCode
  }
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`${prefix}: unexpected failure: ${message.split('\n')[0]}\n`)
  if (debugEnabled() && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`)
  else process.stderr.write('(set JH_SLURM_DEBUG=1 for details)\n')
  return 1
}

/** Runs a script's main function, turning thrown errors into a message and an exit code. */
export function runMain(main: () => Promise<void | number>): void {
  // A reader that goes away (`| head`) must not kill a run half-way, which
  // would skip its rollback: later output is dropped instead.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error
    })
  }
  main().then(
    (code) => {
      process.exitCode = typeof code === 'number' ? code : 0
    },
    (error: unknown) => {
      process.exitCode = reportError(error)
    },
  )
}
