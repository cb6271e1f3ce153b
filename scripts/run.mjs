// Starts a step as compiled JavaScript: `node scripts/run.mjs <step> [args]`.
// Running the TypeScript through tsx costs every command about 0.5 s and
// 35 MiB before it does anything. Instead each step is bundled with its
// dependencies by esbuild into scripts/.compiled/<step>.cjs (git-ignored),
// remade whenever a source file under scripts/ is newer, so an edited step
// runs as edited; and V8's code cache for the bundle is kept beside it, so
// that the next start skips compiling it. A step then starts in about 0.15 s.
// This is the one JavaScript file of the launcher: it has to run before
// anything can be compiled.
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'

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

const out = path.join(outDir, `${step}.cjs`)
const mtime = (file) => fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0
const newest = Math.max(...all.map(mtime), mtime(fileURLToPath(import.meta.url)))

/** Writes a file whole or not at all: a concurrent run sees the old or the new one. */
function replace(file, data) {
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, data)
  fs.renameSync(tmp, file)
}

if (mtime(out) < newest) {
  const { build } = await import('esbuild')
  fs.mkdirSync(outDir, { recursive: true })
  const result = await build({
    entryPoints: steps.map((s) => path.join(scriptsDir, `${s}.ts`)),
    outdir: outDir,
    outExtension: { '.js': '.cjs' },
    write: false,
    // Dependencies too: one file loads faster than a tree of modules.
    // ssh-keygen-lite looks for files beside itself (__dirname): it stays
    // a package of its own.
    bundle: true,
    external: ['ssh-keygen-lite'],
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // CommonJS, so that V8 can cache the compiled code; import.meta.url
    // becomes the bundle's own URL.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: "const __bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: 'error',
  })
  for (const file of result.outputFiles) replace(file.path, file.contents)
}

const code = fs.readFileSync(out, 'utf8')
const cacheFile = `${out}.v8cache`
let cachedData
if (mtime(cacheFile) >= mtime(out)) cachedData = fs.readFileSync(cacheFile)
const wrapper = `(function (exports, require, module, __filename, __dirname) {${code}\n})`
const script = new vm.Script(wrapper, { filename: out, cachedData })
const main = script.runInThisContext()
if (!cachedData || script.cachedDataRejected) {
  // After the first run of this bundle: compiled functions go in the cache too.
  process.once('exit', () => {
    try {
      replace(cacheFile, script.createCachedData())
    } catch {
      // a cache only
    }
  })
}
process.argv.splice(1, 2, out)
const module = { exports: {} }
main.call(module.exports, module.exports, createRequire(out), module, out, outDir)
