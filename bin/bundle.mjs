// Run by `npm ci`/`npm install` (the prepare script) and by `npm run bundle`:
// bundles scripts/ into scripts/.compiled/ so the command starts with plain node
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
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
// Taken into the bundle: the pure-JavaScript packages every command loads.
// Node resolves and wraps each file of an external package on every start
// (yaml's ESM build alone is some sixty files, zx's CommonJS goes through the
// ESM-to-CJS lexer); inlined, they cost about 50 ms less per command (see
// docs/benchmark.md). The rest stay external: tsx, the packages only one
// command loads, and ssh-keygen-lite, which finds its Windows binaries from
// __dirname.
const INLINED = new Set(['zx', 'yaml', 'listr2'])
const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
  .filter((name) => !INLINED.has(name))
  .flatMap((name) => [name, `${name}/*`])
const outdir = path.join(root, 'scripts', '.compiled')
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
  external,
  // zx is CommonJS: its require() of node's modules needs a real require in an ES module.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
})
