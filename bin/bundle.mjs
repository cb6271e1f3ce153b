// Run by `npm ci`/`npm install` (the prepare script) and by `npm run bundle`:
// bundles scripts/ into scripts/.bundle/ so the command starts with plain node
// instead of compiling TypeScript through tsx on every run (see
// docs/benchmark.md for what that saves). Without esbuild (installed without
// dev dependencies) there is no bundle, and the command runs through tsx.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
let esbuild
try {
  esbuild = await import('esbuild')
} catch {
  process.exit(0)
}
const outdir = path.join(root, 'scripts', '.bundle')
// Chunk names carry hashes: a fresh folder keeps old chunks from piling up.
fs.rmSync(outdir, { recursive: true, force: true })
await esbuild.build({
  entryPoints: [path.join(root, 'scripts', 'jh-slurm-pod.ts')],
  // Two levels below the repository, like scripts/lib/paths.ts, whose
  // import.meta.url locates the repository.
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
})
