// Each step module can be imported (by `up` and by tests) or run as a script.
// A step runs when the script node was started with is named after it:
// scripts/<step>.ts under tsx, or scripts/.compiled/<step>.mjs (see
// scripts/run.mjs), where every module of the bundle shares one URL.
import path from 'node:path'
import { runMain } from './errors.ts'

/** The step named by the script node was started with, e.g. `up`. */
export function entryStep(argv1: string | undefined = process.argv[1]): string | undefined {
  return argv1 ? path.basename(argv1).replace(/\.(ts|mjs|cjs|js)$/, '') : undefined
}

/** Runs `main` only when the process was started to run `step`. */
export function runStep(step: string, main: () => Promise<void | number>): void {
  if (entryStep() === step) runMain(main)
}
