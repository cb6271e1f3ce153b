// `jh-slurm-pod play <manifest>`: start the pod from a combined manifest.
import fs from 'node:fs'
import path from 'node:path'
import { defineCommand } from './lib/command.ts'
import { UsageError } from './lib/errors.ts'
import { COMMANDS } from './lib/options.ts'
import { playManifest } from './lib/play.ts'
import { checkPodman } from './lib/podman.ts'

export const command = defineCommand(COMMANDS.play, async ({ values, positionals }) => {
  const file = path.resolve(positionals[0] ?? '')
  if (!fs.existsSync(file)) throw new UsageError(`manifest ${file} not found`)
  await checkPodman()
  await playManifest(file, (line) => process.stderr.write(`  ${line}\n`), values.network)
  console.log(`started pod from ${file}`)
})
