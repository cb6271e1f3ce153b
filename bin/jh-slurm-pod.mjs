#!/usr/bin/env node
// The `jh-slurm-pod` command. It runs the bundle that `npm ci` made of
// scripts/ when no file there is newer than it (plain node starts in a tenth
// of the time tsx takes); otherwise, after an edit, the TypeScript itself
// through tsx's loader, so a change is never run stale.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const scripts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'scripts')
const bundle = path.join(scripts, '.compiled', 'jh-slurm-pod.mjs')

/** The newest modification time of the TypeScript under dir (the bundle's own folder left out). */
function newestSource(dir) {
  let newest = 0
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === '.compiled') continue
    const file = path.join(dir, entry.name)
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(file))
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(file).mtimeMs)
  }
  return newest
}

const bundled = fs.statSync(bundle, { throwIfNoEntry: false })
if (bundled && bundled.mtimeMs >= newestSource(scripts)) {
  await import(bundle)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import('../scripts/jh-slurm-pod.ts')
}
