// The commands of `jh-slurm-pod`: each is loaded only when it is run.
import { BIN, checkGlobalOnOff } from './lib/cli.ts'
import { type Command, runCommand } from './lib/command.ts'
import { UsageError } from './lib/errors.ts'
import { type CommandName, COMMANDS } from './lib/options.ts'
import { repoPaths } from './lib/paths.ts'

// biome-ignore lint/suspicious/noExplicitAny: each command has options of its own.
type Loader = () => Promise<{ command: Command<any> }>

const LOADERS: Record<CommandName, Loader> = {
  up: () => import('./up.ts'),
  down: () => import('./down.ts'),
  clone: () => import('./clone.ts'),
  keygen: () => import('./keygen.ts'),
  'build-images': () => import('./build-images.ts'),
  volumes: () => import('./volumes.ts'),
  manifest: () => import('./manifest.ts'),
  play: () => import('./play.ts'),
  status: () => import('./status.ts'),
  logs: () => import('./logs.ts'),
  apply: () => import('./apply.ts'),
  completion: () => import('./completion.ts'),
}

const isCommand = (name: string): name is CommandName => name in LOADERS

export function overview(): string {
  const names = Object.keys(COMMANDS) as CommandName[]
  const width = Math.max(...names.map((n) => n.length)) + 2
  const firstSentence = (text: string) => text.split(/(?<=\.)\s/)[0] ?? text
  return [
    `Usage: ${BIN} <command> [arguments] [options]`,
    '   or: npm run <command> -- [arguments] [options]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${firstSentence(COMMANDS[n].summary)}`),
    '',
    `${BIN} <command> --help shows a command's arguments, options and their defaults.`,
    '',
  ].join('\n')
}

/** Runs `jh-slurm-pod <command> ...`; returns the exit code. */
export async function dispatch(argv: string[]): Promise<number> {
  checkGlobalOnOff()
  const [name, ...rest] = argv
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview())
    return 0
  }
  if (name === undefined || !isCommand(name)) {
    const known = Object.keys(LOADERS).join(', ')
    throw new UsageError(
      name === undefined ? `no command given; commands: ${known}` : `unknown command "${name}"; commands: ${known}`,
    )
  }
  const { command } = await LOADERS[name]()
  return runCommand(command, rest, repoPaths())
}
