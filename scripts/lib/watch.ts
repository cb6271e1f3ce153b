// Watch mode: runs a callback once files under some directories stop
// changing for a moment (editors save in several writes), never two at once.
import fs from 'node:fs'
import path from 'node:path'

/** Paths whose changes mean nothing to an environment: git's data, caches, editors' temporary files. */
const IGNORED =
  /(^|\/)(\.git|__pycache__|\.pytest_cache|[^/]*\.egg-info|node_modules)(\/|$)|(\.swp|\.swx|~|\.tmp)$|\.partial-\d+/

export interface Watcher {
  close: () => void
}

export function watchTrees(dirs: string[], onSettled: (changed: string[]) => Promise<void>, debounceMs = 300): Watcher {
  const pending = new Set<string>()
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> | undefined
  const fire = async (): Promise<void> => {
    if (running) {
      timer = setTimeout(fire, debounceMs)
      return
    }
    const changed = [...pending]
    pending.clear()
    running = onSettled(changed).finally(() => (running = undefined))
    await running
  }
  const watchers = dirs
    .filter((dir) => fs.existsSync(dir))
    .map((dir) =>
      fs.watch(dir, { recursive: true }, (_event, name) => {
        const file = name ? path.join(dir, name.toString()) : dir
        if (IGNORED.test(file)) return
        pending.add(file)
        clearTimeout(timer)
        timer = setTimeout(fire, debounceMs)
      }),
    )
  return {
    close: () => {
      clearTimeout(timer)
      for (const w of watchers) w.close()
    },
  }
}
