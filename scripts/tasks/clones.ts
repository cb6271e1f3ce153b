// Cloning the development repositories the builds need; an existing clone is
// only looked at.
import type { ListrTask } from 'listr2'
import { cloneRepo, describeClone, describeWarning } from '../lib/clones.ts'
import type { UpPlan } from '../lib/up-plan.ts'
import type { Task, UpContext } from './context.ts'

export function cloneTasks(plan: UpPlan): ListrTask<UpContext>[] {
  return plan.repos.map((repo) => ({
    title: repo.name,
    task: async (ctx: UpContext, task: Task) => {
      const result = await cloneRepo(repo, (line) => {
        task.output = line
      })
      const warning = describeWarning(result)
      if (warning) ctx.notes.push(warning)
      if (result.skipped) task.skip(describeClone(result))
      else task.title = describeClone(result)
    },
  }))
}
