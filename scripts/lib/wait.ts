// Polling: for the hub after the pod starts, and for the end-to-end tests.

/** Calls `probe` every `intervalMs` until it returns a value (not undefined) or time runs out. */
export async function pollUntil<T>(
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 2000,
): Promise<{ value?: T; lastError?: unknown }> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await probe()
      if (value !== undefined) return { value }
    } catch (error) {
      lastError = error
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
  return { lastError }
}

export async function waitForHttp(url: string, timeoutMs: number, intervalMs = 2000): Promise<boolean> {
  const { value } = await pollUntil(
    timeoutMs,
    async () => ((await fetch(url, { signal: AbortSignal.timeout(5000) })).ok ? true : undefined),
    intervalMs,
  )
  return value === true
}
