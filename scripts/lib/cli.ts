// Command-line parsing shared by every command: node's parseArgs against the
// declarations in options.ts, a --help generated from them, and usage
// mistakes reported as one line with exit code 2.
import { parseArgs } from 'node:util'
import { UsageError } from './errors.ts'
import { notOnOff, parseOnOff } from './on-off.ts'

/** The command users type; `npm run <command> --` works too. */
export const BIN = 'jh-slurm-pod'

export interface OptionSpec {
  type: 'string' | 'boolean'
  multiple?: boolean
  short?: string
  /** Placeholder shown in --help, e.g. PATH. */
  value?: string
  /** Process environment variable giving the value when the option is not given. */
  variable?: string
  /** The value when neither the option nor the variable is given. */
  default?: string
  /** The default when the code works it out (e.g. from the environment); shown in --help only. */
  defaultNote?: string
  description: string
}

export interface CommandSpec<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  command: string
  summary: string
  /** Positional arguments, e.g. ['<env>'] or ['[<env>]']. */
  positionals?: readonly string[]
  options: O
  /** Extra paragraphs for --help. */
  notes?: string
}

type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['multiple'] extends true
    ? string[]
    : S extends { default: string }
      ? string
      : string | undefined

export type Values<O extends Record<string, OptionSpec>> = { [K in keyof O]: ValueOf<O[K]> }

export interface Parsed<O extends Record<string, OptionSpec>> {
  values: Values<O>
  positionals: string[]
  /** Where each value that was given came from: `--name`, or the variable's name. */
  sources: Partial<Record<keyof O, string>>
}

/** An environment as --help lists it: its default stage and the volumes its pod claims. */
export interface EnvironmentSummary {
  name: string
  target?: string
  volumes?: string[]
  /** Why it could not be read (a half-made or broken environment). */
  problem?: string
}

function environmentLines(environments: EnvironmentSummary[]): string[] {
  if (environments.length === 0) return ['Environments: none found']
  const width = Math.max(...environments.map((e) => e.name.length)) + 2
  const describe = (e: EnvironmentSummary) => e.problem ?? `${e.target}; volumes ${e.volumes?.join(', ') || 'none'}`
  return [
    'Environments (default stage; volumes its pod claims, which up and volumes make):',
    ...environments.map((e) => `  ${e.name.padEnd(width)}${describe(e)}`),
  ]
}

/** What --help shows after an option's description: default, repeatable, variable. */
function optionNotes(o: OptionSpec): string {
  const defaultText = o.default !== undefined ? `default ${o.default}` : o.defaultNote && `default: ${o.defaultNote}`
  const notes = [defaultText, o.multiple ? 'repeatable' : '', o.variable ? `variable ${o.variable}` : '']
  const text = notes.filter(Boolean).join('; ')
  return text ? ` (${text})` : ''
}

/** The help text; `environments` are what a `<env>` argument takes. */
export function helpText(spec: CommandSpec, environments: EnvironmentSummary[] = []): string {
  const args = (spec.positionals ?? []).join(' ')
  const rows: Array<[string, string]> = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`
    return [flag, `${o.description}${optionNotes(o)}`]
  })
  rows.push(['-h, --help', 'show this help'])
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2
  const usage = `${spec.command}${args ? ` ${args}` : ''} [options]`
  const lines = [
    `Usage: ${BIN} ${usage}`,
    `   or: npm run ${spec.command} --${args ? ` ${args}` : ''} [options]`,
    '',
    spec.summary,
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
  ]
  if (args.includes('<env>')) lines.push('', ...environmentLines(environments))
  if (spec.notes) lines.push('', spec.notes.trim())
  return `${lines.join('\n')}\n`
}

/** The value of one option: given, else its variable, else its default. */
function optionValue(o: OptionSpec, given: unknown, vars: NodeJS.ProcessEnv): unknown {
  if (o.type === 'boolean') return given === true || (given === undefined && !!o.variable && onOff(o.variable, vars))
  const fromVariable = o.variable ? vars[o.variable] : undefined
  if (o.multiple) return (given as string[] | undefined) ?? []
  return (given as string | undefined) ?? (fromVariable === '' ? undefined : fromVariable) ?? o.default
}

function checkPositionals(spec: CommandSpec, positionals: string[]): void {
  const declared = spec.positionals ?? []
  const required = declared.filter((p) => !p.startsWith('[')).length
  const see = `(see ${BIN} ${spec.command} --help)`
  if (positionals.length < required) throw new UsageError(`missing argument ${declared[positionals.length]} ${see}`)
  if (positionals.length > declared.length)
    throw new UsageError(`unexpected argument "${positionals[declared.length]}" ${see}`)
}

/**
 * Parses argv against the spec. `--help` returns `help: true` (the caller
 * prints helpText); an unknown option or a wrong number of positionals
 * throws a UsageError.
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  argv: string[],
  vars: NodeJS.ProcessEnv = process.env,
): Parsed<O> & { help: boolean } {
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [
      name,
      { type: o.type, multiple: o.multiple === true, ...(o.short ? { short: o.short } : {}) },
    ]),
  )
  let parsed: { values: Record<string, unknown>; positionals: string[] }
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split(/\n|\. /)[0] ?? ''
    throw new UsageError(`${message.replace(/\.$/, '')} (see ${BIN} ${spec.command} --help)`)
  }
  const help = parsed.values.help === true
  if (!help) checkPositionals(spec, parsed.positionals)
  const values: Record<string, unknown> = {}
  const sources: Record<string, string> = {}
  for (const [name, o] of Object.entries(spec.options)) {
    values[name] = optionValue(o, parsed.values[name], vars)
    if (parsed.values[name] !== undefined) sources[name] = `--${name}`
    else if (o.variable && vars[o.variable]) sources[name] = o.variable
  }
  return {
    values: values as Values<O>,
    positionals: parsed.positionals,
    sources: sources as Parsed<O>['sources'],
    help,
  }
}

/** The on/off variable `name` (rule in on-off.ts): unset is off; a value that is neither is a UsageError. */
export function onOff(name: string, vars: NodeJS.ProcessEnv = process.env): boolean {
  const value = vars[name]
  const on = parseOnOff(value)
  if (on === undefined) throw new UsageError(notOnOff(name, value ?? ''))
  return on
}

/** The on/off variables every command reads, checked before it runs: a mistyped value fails at once. */
export const checkGlobalOnOff = (vars: NodeJS.ProcessEnv = process.env): void => {
  for (const name of ['JH_SLURM_DEBUG', 'JH_SLURM_TRACE']) onOff(name, vars)
}
