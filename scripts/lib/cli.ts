// Command-line parsing shared by every step: node's parseArgs, a generated
// --help, and usage mistakes reported as one line with exit code 2.
import { parseArgs } from 'node:util'
import { UsageError } from './errors.ts'

export interface OptionSpec {
  type: 'string' | 'boolean'
  multiple?: boolean
  short?: string
  /** Placeholder shown in --help, e.g. PATH. */
  value?: string
  /** Environment variable giving the default. */
  env?: string
  description: string
}

export interface CommandSpec<O extends Record<string, OptionSpec>> {
  /** npm script name, e.g. `manifest`. */
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
    : string | undefined

export type Values<O extends Record<string, OptionSpec>> = { [K in keyof O]: ValueOf<O[K]> }

export interface Parsed<O extends Record<string, OptionSpec>> {
  values: Values<O>
  positionals: string[]
}

export function helpText<O extends Record<string, OptionSpec>>(spec: CommandSpec<O>): string {
  const args = (spec.positionals ?? []).join(' ')
  const rows: Array<[string, string]> = Object.entries(spec.options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`
    const extra = [o.multiple ? 'repeatable' : '', o.env ? `env ${o.env}` : ''].filter(Boolean).join('; ')
    return [flag, `${o.description}${extra ? ` (${extra})` : ''}`]
  })
  rows.push(['-h, --help', 'show this help'])
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2
  const lines = [
    `Usage: npm run ${spec.command} --${args ? ` ${args}` : ''} [options]`,
    '',
    spec.summary,
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`),
  ]
  if (spec.notes) lines.push('', spec.notes.trim())
  return `${lines.join('\n')}\n`
}

/**
 * Parses argv against the spec. `--help` prints the help and exits 0; an
 * unknown option or a wrong number of positionals throws a UsageError.
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
): Parsed<O> {
  const options = Object.fromEntries(
    Object.entries(spec.options).map(([name, o]) => [
      name,
      { type: o.type, multiple: o.multiple === true, ...(o.short ? { short: o.short } : {}) },
    ]),
  )
  const parse = () =>
    parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse()
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).split(/\n|\. /)[0] ?? ''
    throw new UsageError(`${message.replace(/\.$/, '')} (see npm run ${spec.command} -- --help)`)
  }
  if (parsed.values.help) {
    process.stdout.write(helpText(spec))
    process.exit(0)
  }
  const declared = spec.positionals ?? []
  const required = declared.filter((p) => !p.startsWith('[')).length
  if (parsed.positionals.length < required) {
    throw new UsageError(
      `missing argument ${declared[parsed.positionals.length]} (see npm run ${spec.command} -- --help)`,
    )
  }
  if (parsed.positionals.length > declared.length) {
    throw new UsageError(
      `unexpected argument "${parsed.positionals[declared.length]}" (see npm run ${spec.command} -- --help)`,
    )
  }
  const values: Record<string, unknown> = {}
  for (const [name, o] of Object.entries(spec.options)) {
    const given = (parsed.values as Record<string, unknown>)[name]
    const fromEnv = o.env ? env[o.env] : undefined
    if (o.type === 'boolean') values[name] = given === true || (given === undefined && isTruthy(fromEnv))
    else if (o.multiple) values[name] = (given as string[] | undefined) ?? []
    else values[name] = (given as string | undefined) ?? (fromEnv === '' ? undefined : fromEnv)
  }
  return { values: values as Values<O>, positionals: parsed.positionals }
}

const isTruthy = (value: string | undefined): boolean => /^(1|true|yes|on)$/i.test(value ?? '')
