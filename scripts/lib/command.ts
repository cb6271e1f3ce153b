// A command: its declaration (options.ts) and its main function, which gets
// the parsed command line and the repository it works in.
import {
  type CommandSpec,
  type EnvironmentSummary,
  helpText,
  type OptionSpec,
  type Parsed,
  parseCommandLine,
} from './cli.ts'
import { listEnvironments, resolveEnvironment } from './environment.ts'
import type { RepoPaths } from './paths.ts'
import { readEnvironmentPod, templateUse } from './template.ts'

export interface Command<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  spec: CommandSpec<O>
  /** Resolves to the exit code, or to nothing for 0. */
  main: (parsed: Parsed<O>, repo: RepoPaths) => Promise<unknown>
}

export const defineCommand = <O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  main: Command<O>['main'],
): Command<O> => ({ spec, main })

/** Each environment's default stage and the volumes its pod claims, for --help. */
export async function environmentSummaries(repo: RepoPaths): Promise<EnvironmentSummary[]> {
  const summary = async (name: string): Promise<EnvironmentSummary> => {
    try {
      const env = resolveEnvironment(name, repo)
      const use = templateUse(await readEnvironmentPod(env))
      return { name, target: env.target, volumes: use.volumes.map((key) => env.names.volumes[key]) }
    } catch (error) {
      return { name, problem: `cannot be used: ${error instanceof Error ? error.message : String(error)}` }
    }
  }
  return Promise.all(listEnvironments(repo).map(summary))
}

/** Parses argv and runs the command; --help prints the help instead. Returns the exit code. */
export async function runCommand<O extends Record<string, OptionSpec>>(
  command: Command<O>,
  argv: string[],
  repo: RepoPaths,
): Promise<number> {
  const parsed = parseCommandLine(command.spec, argv)
  if (parsed.help) {
    process.stdout.write(helpText(command.spec, await environmentSummaries(repo)))
    return 0
  }
  const code = await command.main(parsed, repo)
  return typeof code === 'number' ? code : 0
}
