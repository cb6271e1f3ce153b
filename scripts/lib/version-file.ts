// The version file setuptools-scm writes into a Python source tree when the
// package is installed. It is an output of the build (and git-ignored
// upstream), so digests of what a build or an apply reads leave it out.
import fs from 'node:fs'
import path from 'node:path'

/** The file setuptools-scm writes into the source tree at install time (pyproject: version_file or write_to). */
export function generatedVersionFile(cloneDir: string): string | undefined {
  let text: string
  try {
    text = fs.readFileSync(path.join(cloneDir, 'pyproject.toml'), 'utf8')
  } catch {
    return undefined
  }
  const section = /^\[tool\.setuptools_scm\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1] ?? ''
  return /^\s*(?:version_file|write_to)\s*=\s*["']([^"']+)["']/m.exec(section)?.[1]
}

/** The development clones' version files under a build context, as paths relative to it. */
export function generatedInContext(contextDir: string): Set<string> {
  const clones = path.join(contextDir, DEV_BUILD_DATA)
  const names = fs.existsSync(clones) ? fs.readdirSync(clones) : []
  return new Set(
    names.flatMap((name) => {
      const file = generatedVersionFile(path.join(clones, name))
      return file ? [path.join(DEV_BUILD_DATA, name, file)] : []
    }),
  )
}

const DEV_BUILD_DATA = '_dev_build_data'
