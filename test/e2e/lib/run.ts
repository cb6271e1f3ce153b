// Running the product's npm scripts and podman for the end-to-end test.
import { spawn } from 'node:child_process'
import { containerName, resourceNames } from '../../../scripts/lib/names.ts'
import { podman } from '../../../scripts/lib/podman.ts'
import { repoRoot } from '../../../scripts/lib/paths.ts'
import { pollUntil } from '../../../scripts/lib/wait.ts'
import { testName } from './test-environments.ts'

export interface Run {
  code: number | null
  signal: NodeJS.Signals | null
  output: string
}

/** Every byte any product command printed during the test (checked for key material). */
export const transcript: string[] = []

export interface RunOptions {
  env?: NodeJS.ProcessEnv
  /** Called with each chunk; may return a signal to send to the process. */
  watch?: (output: string) => NodeJS.Signals | undefined
  /**
   * `npm` runs `npm run <script> -- <args>` as a user would; `node` runs the
   * script in a single process, so that a signal reaches it directly.
   */
  via?: 'npm' | 'node'
  /** The watch's signal goes to the run's whole process group, as a terminal's Ctrl-C does. */
  group?: boolean
  /** For a run that ends only on the watch's signal: killed, and the run fails, after this long. */
  timeoutMs?: number
}

/** Runs one of the product's scripts in the repository, output captured (no TTY). */
export function npmRun(script: string, args: string[] = [], options: RunOptions = {}): Promise<Run> {
  const argv =
    options.via === 'node'
      ? [process.execPath, 'bin/jh-slurm-pod.mjs', script, ...args]
      : ['npm', 'run', '--silent', script, '--', ...args]
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.group,
    })
    let output = ''
    let signalled = false
    const send = (signal: NodeJS.Signals) => {
      if (options.group && child.pid) process.kill(-child.pid, signal)
      else child.kill(signal)
    }
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            send('SIGKILL')
            reject(
              new Error(`${script} ${args.join(' ')} still ran after ${options.timeoutMs} ms; its output:\n${output}`),
            )
          }, options.timeoutMs)
    const onData = (chunk: Buffer) => {
      const text = chunk.toString()
      output += text
      process.stdout.write(text.replace(/^/gm, `    [${script}] `).replace(/ {4}\[[^\]]+\] $/, ''))
      const signal = !signalled && options.watch?.(output)
      if (signal) {
        signalled = true
        send(signal)
      }
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      transcript.push(output)
      resolve({ code, signal, output })
    })
  })
}

export async function podmanOut(args: string[]): Promise<string> {
  return (await podman(args)).stdout.trim()
}

/** Runs a command in the Slurm container of an environment (the test copy of dev_dummyauth unless named). */
export async function inSlurm(command: string[], env = testName('dev_dummyauth')): Promise<string> {
  return podmanOut(['exec', containerName(resourceNames(env), 'slurm'), ...command])
}

export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 2000,
): Promise<T> {
  const { value, lastError } = await pollUntil(timeoutMs, probe, intervalMs)
  if (value === undefined) {
    throw new Error(
      `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`,
    )
  }
  return value
}
