// What the tasks of `up` share: the context they add their products to, and
// small helpers for timing, interrupts and groups of tasks run side by side.
import type { ListrTask, ListrTaskWrapper } from 'listr2'
import { UserError } from '../lib/errors.ts'
import { tracing } from '../lib/exec.ts'
import type { MadeSecrets } from '../lib/manifest-input.ts'
import type { Snapshot } from '../lib/snapshot.ts'

/** What the tasks produce; the plan they work from does not change. */
export interface UpContext {
  buildDir?: string
  secrets?: MadeSecrets
  manifestFile?: string
  /** The sources as read before the builds; finished (base images) once the pod runs. */
  sources?: () => Promise<Snapshot>
  /** When `kube play` started the pod (ms): the hub's log is read from then on. */
  podStarted?: number
  /** Whether podman is a remote client (the podman check finds out). */
  remote?: boolean
  /** Said after the list has drawn (a clone not at its pin, the hub's log). */
  notes: string[]
  /** Set once the checks pass: from then on a failure rolls back. */
  mayRollBack: boolean
  /** When each top-level task started; tasks run one after another. */
  starts: Array<[string, number]>
  /** Set by SIGINT/SIGTERM: no further task starts. */
  interrupted?: NodeJS.Signals
  /** Aborted by SIGINT/SIGTERM: the waits for the hub, Slurm and its nodes stop polling. */
  interruption?: AbortController
  /** The top-level task running now: an interrupt is said in its output. */
  current?: Task
}

// biome-ignore lint/suspicious/noExplicitAny: listr2's wrapper type takes its renderer types.
export type Task = ListrTaskWrapper<UpContext, any, any>

/**
 * How `up` and `apply` run their lists. Interrupts are the command's to
 * handle (listr2's own handler exits at once, with no rollback). With
 * JH_SLURM_TRACE the list is written line by line (listr2's fallback
 * renderer) instead of drawn, so the trace's lines cannot tear the drawing.
 */
export const LIST_OPTIONS = {
  exitOnError: true,
  registerSignalListeners: false,
  rendererOptions: { collapseSubtasks: false },
  fallbackRendererCondition: tracing,
} as const

/** Nothing new starts once SIGINT/SIGTERM came. */
export function stopIfInterrupted(ctx: UpContext): void {
  if (ctx.interrupted) throw new UserError(`interrupted by ${ctx.interrupted}`)
}

/** A product of an earlier task; its absence is a bug in the order of tasks. */
export function produced<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} was not made before it was needed`)
  return value
}

/** A top-level task whose start is recorded (its subtasks finish before the next starts). */
export const timed = (title: string, fn: ListrTask<UpContext>['task']): ListrTask<UpContext> => ({
  title,
  task: (ctx, task) => {
    stopIfInterrupted(ctx)
    ctx.starts.push([title, Date.now()])
    ctx.current = task
    return fn(ctx, task)
  },
})

/** Seconds each top-level task took, from consecutive start times. */
export function stepTimings(starts: Array<[string, number]>, end: number): Array<[string, number]> {
  return starts.map(([title, start], i) => [title, (starts[i + 1]?.[1] ?? end) - start])
}

/**
 * Runs tasks side by side and waits for all of them: none is left making
 * resources while the run rolls back. Then fails with the failure of the
 * earliest task in the list, so that what is reported does not depend on
 * timing (a missing podman, not the listing that failed because of it).
 */
export async function settled(ctx: UpContext, task: Task, tasks: ListrTask<UpContext>[]): Promise<void> {
  const group = task.newListr(tasks, { concurrent: true, exitOnError: false, collectErrors: 'minimal' })
  await group.run(ctx)
  const position = (failed: (typeof group.errors)[number]) => group.tasks.indexOf(failed.task)
  const [first] = [...group.errors].sort((a, b) => position(a) - position(b))
  if (first) throw first.error
}
