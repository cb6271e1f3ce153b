// Secrets registered here are replaced in every line this tool prints, as a
// second line of defence: no code path is meant to print them at all.

const secrets = new Set<string>()

export function registerSecret(value: string): void {
  for (const line of value.split('\n')) {
    const trimmed = line.trim()
    // Key armour lines are public knowledge; the base64 body is the secret.
    if (trimmed.length >= 16 && !trimmed.startsWith('-----')) secrets.add(trimmed)
  }
}

export function redact(text: string): string {
  let out = text
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[redacted]')
  return out
}
