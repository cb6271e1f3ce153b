// `jh-slurm-pod play <manifest>`: start the pod from a combined manifest.
import fs from 'node:fs'
import path from 'node:path'
import YAML from 'yaml'
import { defineCommand } from './lib/command.ts'
import { UsageError } from './lib/errors.ts'
import { COMMANDS } from './lib/options.ts'
import { playManifest } from './lib/play.ts'
import { checkPodman } from './lib/podman.ts'

/** How many pods the manifest declares (a YAML stream; what is not YAML, podman itself reports). */
function podCount(file: string): number {
  const documents = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
  return documents.filter((d) => (d.toJS() as { kind?: unknown } | null)?.kind === 'Pod').length
}

export const command = defineCommand(COMMANDS.play, async ({ values, positionals }) => {
  const file = path.resolve(positionals[0] ?? '')
  if (!fs.existsSync(file)) throw new UsageError(`manifest ${file} not found`)
  const pods = podCount(file)
  // Without a network, podman puts each pod on one with no DNS: compute nodes could not find the login node.
  if (pods > 1 && !values.network) {
    throw new UsageError(
      `manifest ${file} has ${pods} pods (the hub's and its compute nodes'), which find each other by name only on a podman network of their own: create one (podman network create NAME) and give --network NAME`,
    )
  }
  await checkPodman()
  await playManifest(file, (line) => process.stderr.write(`  ${line}\n`), values.network)
  console.log(`started pod from ${file}`)
})
