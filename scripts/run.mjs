// Starts a step as compiled JavaScript: `node scripts/run.mjs <step> [args]`.
// Running the TypeScript through tsx costs every command about 0.5 s and
// 35 MiB before it does anything; one bundle of the step and its
// dependencies, made by esbuild, starts in about 0.25 s. The bundles live in scripts/.compiled/ (git-ignored) and are
// remade whenever a source file under scripts/ is newer, so an edited step
// runs as edited. This is the one JavaScript file of the launcher: it has to
// run before anything can be compiled.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const scriptsDir = path.dirname(fileURLToPath(import.meta.url))
// Same depth as scripts/lib/, so that the bundles find the repository root.
const outDir = path.join(scriptsDir, '.compiled')
const step = process.argv[2] ?? ''

function sources(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return entry.name.startsWith('.') ? [] : sources(full)
    return entry.name.endsWith('.ts') ? [full] : []
  })
}

const all = sources(scriptsDir)
const steps = all.filter((file) => path.dirname(file) === scriptsDir).map((file) => path.basename(file, '.ts'))
if (!steps.includes(step)) {
  process.stderr.write(`error: unknown step "${step}"; steps: ${steps.sort().join(', ')}\n`)
  process.exit(2)
}

const out = path.join(outDir, `${step}.mjs`)
const mtime = (file) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0
const newest = Math.max(...all.map(mtime), mtime(fileURLToPath(import.meta.url)))
if (mtime(out) < newest) {
  // Built beside the output and renamed into place: a concurrent run sees the old or the new bundles.
  const { build } = await import('esbuild')
  fs.mkdirSync(outDir, { recursive: true })
  const tmp = fs.mkdtempSync(path.join(outDir, '.tmp-'))
  try {
    await build({
      entryPoints: steps.map((s) => path.join(scriptsDir, `${s}.ts`)),
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      // Dependencies too: one file loads faster than a tree of modules.
      // ssh-keygen-lite looks for files beside itself (__dirname): it stays
      // a package of its own.
      bundle: true,
      external: ['ssh-keygen-lite'],
      platform: 'node',
      // For the CommonJS dependencies inside an ES module bundle.
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      format: 'esm',
      target: 'node20',
      logLevel: 'error',
    })
    for (const s of steps) fs.renameSync(path.join(tmp, `${s}.mjs`), path.join(outDir, `${s}.mjs`))
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

process.argv.splice(1, 2, out)
await import(pathToFileURL(out).href)
