// Step: start the pod from a combined manifest with `podman kube play`.
import fs from 'node:fs'
import path from 'node:path'
import { parseCommandLine } from './lib/cli.ts'
import { UserError } from './lib/errors.ts'
import { runStep } from './lib/main.ts'
import { checkPodman, podman } from './lib/podman.ts'

/** `podman kube play`, on `network` when given (a podman network that must exist). */
export async function playManifest(file: string, onLine?: (line: string) => void, network?: string): Promise<void> {
  await podman(['kube', 'play', ...(network ? ['--network', network] : []), path.resolve(file)], { onLine })
}

export const networkOption = {
  type: 'string',
  value: 'NAME',
  env: 'JH_SLURM_NETWORK',
  description: 'attach the pod to this podman network (e.g. one from which the Slurm login node is reachable)',
} as const

export const cli = {
  command: 'play',
  summary: 'Start the pod from a combined manifest (see npm run manifest) with podman kube play.',
  positionals: ['<manifest>'],
  options: { network: networkOption },
} as const

runStep('play', async () => {
  const { values, positionals } = parseCommandLine(cli)
  const file = path.resolve(positionals[0] ?? '')
  if (!fs.existsSync(file)) throw new UserError(`manifest ${file} not found`)
  await checkPodman()
  await playManifest(file, (line) => process.stderr.write(`  ${line}\n`), values.network)
  console.log(`started pod from ${file}`)
})
