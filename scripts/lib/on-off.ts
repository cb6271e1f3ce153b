// The one rule for on/off variables (JH_SLURM_TRACE, JH_SLURM_DEBUG, a
// boolean option's variable, ...): 0, false, no, off and empty (or unset) are
// off; 1, true, yes, on are on, in any case. Anything else is neither, which
// the reader (onOff in cli.ts) reports as a usage mistake naming the variable.
// No imports: errors.ts reads JH_SLURM_DEBUG with it too.

const OFF = new Set(['', '0', 'false', 'no', 'off'])
const ON = new Set(['1', 'true', 'yes', 'on'])

/** A value as on (true) or off (false); undefined when it is neither. */
export function parseOnOff(value: string | undefined): boolean | undefined {
  const word = (value ?? '').trim().toLowerCase()
  if (OFF.has(word)) return false
  if (ON.has(word)) return true
  return undefined
}

/** What a value that is neither is told. */
export const notOnOff = (name: string, value: string): string =>
  `${name}=${JSON.stringify(value)} is neither on nor off; set it to 1, true, yes or on, or to 0, false, no, off or empty`
