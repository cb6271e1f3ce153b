// Runs a command to completion and times it, with the peak RSS of that process.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { UserError } from '../../scripts/lib/errors.ts'

export interface Timed {
  seconds: number
  peakRssKiB: number
  output: string
}

/** VmHWM of a process (polled from /proc: it only grows), 0 once it is gone. */
function peakRss(pid: number | undefined): number {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return hwm ? Number(hwm[1]) : 0
  } catch {
    return 0
  }
}

export function timed(argv: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(argv[0] as string, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    let peak = 0
    const sample = () => {
      peak = Math.max(peak, peakRss(child.pid))
    }
    const timer = setInterval(sample, 10)
    child.stdout.on('data', (c: Buffer) => (output += c))
    child.stderr.on('data', (c: Buffer) => (output += c))
    child.on('error', reject)
    // The last sample before the process is reaped.
    child.on('exit', sample)
    child.on('close', (code) => {
      clearInterval(timer)
      const seconds = (performance.now() - start) / 1000
      if (code === 0) return resolve({ seconds, peakRssKiB: peak, output })
      const tail = output.trim().split('\n').slice(-8).join('\n')
      reject(new UserError(`${argv.slice(0, 4).join(' ')} failed (exit ${code}):\n${tail}`))
    })
  })
}
