// Step: start the pod from a combined manifest with `podman kube play`.
import fs from 'node:fs'
import path from 'node:path'
import { parseCommandLine } from './lib/cli.ts'
import { UserError } from './lib/errors.ts'
import { runStep } from './lib/main.ts'
import { checkPodman, podman } from './lib/podman.ts'

export async function playManifest(file: string, onLine?: (line: string) => void): Promise<void> {
  await podman(['kube', 'play', path.resolve(file)], { onLine })
}

export const cli = {
  command: 'play',
  summary: 'Start the pod from a combined manifest (see npm run manifest) with podman kube play.',
  positionals: ['<manifest>'],
  options: {},
} as const

runStep('play', async () => {
  const { positionals } = parseCommandLine(cli)
  const file = path.resolve(positionals[0] ?? '')
  if (!fs.existsSync(file)) throw new UserError(`manifest ${file} not found`)
  await checkPodman()
  await playManifest(file, (line) => process.stderr.write(`  ${line}\n`))
  console.log(`started pod from ${file}`)
})
