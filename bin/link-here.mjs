// Run by `npm ci`/`npm install` in this repository (the prepare script): links
// the package's own command into node_modules/.bin, as npm does for packages
// it installs, so that node_modules/.bin/jh-slurm-pod works here as well as
// npx jh-slurm-pod. Installed as a dependency, the package has no such folder
// of its own and nothing is done.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const binDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.bin')
if (fs.existsSync(binDir)) {
  const link = path.join(binDir, 'jh-slurm-pod')
  fs.rmSync(link, { force: true })
  fs.symlinkSync(path.join('..', '..', 'bin', 'jh-slurm-pod.mjs'), link)
}
