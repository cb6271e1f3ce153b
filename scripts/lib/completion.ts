// Shell completion scripts for bash and zsh, made from the command
// declarations (options.ts) and the environments of the repository.
import { BIN, type CommandSpec } from './cli.ts'
import { UsageError } from './errors.ts'

export const SHELLS = ['bash', 'zsh'] as const

const flagsOf = (spec: CommandSpec): string[] => [
  ...Object.entries(spec.options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]),
  '--help',
]

/** Options whose value is a file or directory: the shell completes paths after them. */
const pathFlagsOf = (spec: CommandSpec): string[] =>
  Object.entries(spec.options)
    .filter(([, o]) => o.value && ['FILE', 'PATH', 'DIR'].includes(o.value))
    .flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])])

/** What a command's positional argument takes: environment names, a file, or a shell. */
function positionalWords(spec: CommandSpec, environments: string[]): string {
  const first = spec.positionals?.[0] ?? ''
  if (first.includes('<env>')) return environments.join(' ')
  if (first.includes('<shell>')) return SHELLS.join(' ')
  return ''
}

const fn = `_${BIN.replace(/-/g, '_')}`

function bashScript(commands: Record<string, CommandSpec>, environments: string[]): string {
  const cases = Object.entries(commands).map(([name, spec]) => {
    const files = spec.positionals?.[0]?.includes('<manifest>') ? ' files=1;' : ''
    return `    ${name}) flags="${flagsOf(spec).join(' ')}"; paths="${pathFlagsOf(spec).join(' ')}"; words="${positionalWords(spec, environments)}";${files} ;;`
  })
  return `# bash completion for ${BIN}; load with: source <(${BIN} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local flags="" paths="" words="" files=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${Object.keys(commands).join(' ')}" -- "$cur"))
    return
  fi
  case "\${COMP_WORDS[1]}" in
${cases.join('\n')}
  esac
  if [[ " $paths " == *" $prev "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
  elif [ -n "$files" ]; then
    COMPREPLY=($(compgen -f -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F ${fn} ${BIN}
`
}

function zshScript(commands: Record<string, CommandSpec>, environments: string[]): string {
  const cases = Object.entries(commands).map(([name, spec]) => {
    const files = spec.positionals?.[0]?.includes('<manifest>') ? ' files=1' : ''
    return `    ${name}) flags=(${flagsOf(spec).join(' ')}); paths=(${pathFlagsOf(spec).join(' ')}); choices=(${positionalWords(spec, environments)})${files} ;;`
  })
  return `#compdef ${BIN}
# zsh completion for ${BIN}; load with: source <(${BIN} completion zsh)
${fn}() {
  # words is zsh's own array of the command line's words.
  local -a flags paths choices
  local files=""
  if (( CURRENT == 2 )); then
    compadd -- ${Object.keys(commands).join(' ')}
    return
  fi
  case "\${words[2]}" in
${cases.join('\n')}
  esac
  if (( \${paths[(Ie)\${words[CURRENT-1]}]} )); then
    _files
  elif [[ "$PREFIX" == -* ]]; then
    compadd -- $flags
  elif [[ -n "$files" ]]; then
    _files
  else
    compadd -- $choices
  fi
}
compdef ${fn} ${BIN}
`
}

export function completionScript(shell: string, commands: Record<string, CommandSpec>, environments: string[]): string {
  if (shell === 'bash') return bashScript(commands, environments)
  if (shell === 'zsh') return zshScript(commands, environments)
  throw new UsageError(`no completion for shell "${shell}" (one of ${SHELLS.join(', ')})`)
}
