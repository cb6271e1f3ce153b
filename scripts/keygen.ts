// `jh-slurm-pod keygen [--out DIR]`: generate the two SSH key pairs into a directory.
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { defineCommand } from './lib/command.ts'
import { UsageError } from './lib/errors.ts'
import { generateEnvironmentKeys, KEY_FILES } from './lib/keys.ts'
import { COMMANDS } from './lib/options.ts'

const keyFilesIn = (dir: string): string[] =>
  Object.values(KEY_FILES).flatMap((name) => [path.join(dir, name), path.join(dir, `${name}.pub`)])

export const command = defineCommand(COMMANDS.keygen, async ({ values }) => {
  const dir = values.out ? path.resolve(values.out) : await fs.mkdtemp(path.join(os.tmpdir(), 'jh_slurm_keys.'))
  const existing = keyFilesIn(dir).filter((file) => existsSync(file))
  if (existing.length && !values.force)
    throw new UsageError(
      `${existing[0]} exists${existing.length > 1 ? ` (and ${existing.length - 1} more key files)` : ''}; pass --force to replace the keys in ${dir}`,
    )
  await generateEnvironmentKeys(dir, true)
  for (const name of Object.values(KEY_FILES)) {
    console.log(`${path.join(dir, name)} (private, keep it secret) and ${path.join(dir, `${name}.pub`)}`)
  }
})
