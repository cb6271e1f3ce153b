// yaml is loaded on first use rather than at every start: down and status
// read no YAML file, and the import is ~30 ms of their start-up
// (docs/benchmark.md).
import { createRequire } from 'node:module'

let yaml: typeof import('yaml') | undefined

export function parseYaml(text: string): unknown {
  yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml')
  return yaml.parse(text)
}
