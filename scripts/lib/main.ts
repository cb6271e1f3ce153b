// Each step module can be imported (by `up` and by tests) or run as a script.
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runMain } from './errors.ts'

/** Runs `main` only when the module at `moduleUrl` is the script node was started with. */
export function runStep(moduleUrl: string, main: () => Promise<void | number>): void {
  const entry = process.argv[1]
  if (!entry) return
  let isEntry = false
  try {
    isEntry = realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl))
  } catch {
    isEntry = false
  }
  if (isEntry) runMain(main)
}
