// `jh-slurm-pod completion <shell>`: print a completion script for bash or zsh.
import { defineCommand } from './lib/command.ts'
import { completionScript } from './lib/completion.ts'
import { listEnvironments } from './lib/environment.ts'
import { COMMANDS } from './lib/options.ts'

export const command = defineCommand(COMMANDS.completion, async ({ positionals }, repo) => {
  process.stdout.write(completionScript(positionals[0] ?? '', COMMANDS, listEnvironments(repo)))
})
