// Build arguments: each image pins its defaults in <image dir>/build.args
// (KEY=VALUE lines, # comments). Site or test settings are laid over them
// from further args files and single --build-arg values.
import { UsageError } from './errors.ts'
import { readUserFile } from './paths.ts'

export type BuildArgs = Map<string, string>

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/

export function parseAssignment(text: string, where: string): [string, string] {
  const eq = text.indexOf('=')
  const key = eq === -1 ? text : text.slice(0, eq)
  if (eq === -1 || !KEY.test(key)) throw new UsageError(`${where}: expected KEY=VALUE, got "${text}"`)
  return [key, text.slice(eq + 1)]
}

export function parseArgsFile(text: string, source: string): BuildArgs {
  const args: BuildArgs = new Map()
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '').trim()
    if (line === '' || line.startsWith('#')) return
    const [key, value] = parseAssignment(line, `${source}:${index + 1}`)
    args.set(key, value)
  })
  return args
}

export function readArgsFile(file: string): BuildArgs {
  return parseArgsFile(readUserFile(file, 'build args file'), file)
}

/**
 * Lays `overlays` over `defaults`. A key the image does not declare is an
 * error, since podman would silently ignore a misspelt one.
 */
export function mergeBuildArgs(defaults: BuildArgs, overlays: BuildArgs[], image: string): BuildArgs {
  const merged = new Map(defaults)
  for (const overlay of overlays) {
    for (const [key, value] of overlay) {
      if (!defaults.has(key)) {
        throw new UsageError(`unknown build argument ${key} for ${image} (known: ${[...defaults.keys()].join(', ')})`)
      }
      merged.set(key, value)
    }
  }
  return merged
}
