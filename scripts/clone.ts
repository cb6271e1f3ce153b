// `jh-slurm-pod clone`: clone the development repositories (see lib/clones.ts).
import { cloneRepo, describeClone, describeWarning, devReposFor } from './lib/clones.ts'
import { defineCommand } from './lib/command.ts'
import { COMMANDS } from './lib/options.ts'

export const command = defineCommand(COMMANDS.clone, async (_parsed, repo) => {
  for (const devRepo of devReposFor(repo)) {
    const result = await cloneRepo(devRepo, (line) => process.stderr.write(`  ${line}\n`))
    console.log(describeClone(result))
    const warning = describeWarning(result)
    if (warning) process.stderr.write(`${warning}\n`)
  }
})
