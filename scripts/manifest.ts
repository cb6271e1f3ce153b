// `jh-slurm-pod manifest <env>`: print the combined manifest of an environment
// (see lib/manifest-input.ts and lib/render.ts). Only the manifest goes to stdout.
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { defineCommand } from './lib/command.ts'
import { parsePort, resolveEnvironment } from './lib/environment.ts'
import { makeSecrets, manifestInput, planRender } from './lib/manifest-input.ts'
import { defaultTag } from './lib/names.ts'
import { COMMANDS } from './lib/options.ts'
import { renderManifest, writeSecretFile } from './lib/render.ts'

export const command = defineCommand(COMMANDS.manifest, async ({ values, positionals }, repo) => {
  const env = resolveEnvironment(positionals[0], repo)
  const settings = {
    hostPort: values.port === undefined ? undefined : parsePort(values.port, '--port'),
    deployConfigFile: values['deploy-config'],
    tag: values.tag ?? defaultTag(env.target),
    registry: values.registry,
    clusterFiles: { clientKey: values['ssh-client-key'], knownHosts: values['ssh-known-hosts'] },
  }
  const plan = await planRender(env, settings, repo, 'manifest')
  for (const note of plan.notes) process.stderr.write(`note: ${note}\n`)
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'jh_slurm_keys.'))
  let text: string
  try {
    text = renderManifest(manifestInput(plan, await makeSecrets(plan, scratch, false)))
  } finally {
    await fs.rm(scratch, { recursive: true, force: true })
  }
  if (values.output) {
    const file = path.resolve(values.output)
    await writeSecretFile(file, text)
    process.stderr.write(`wrote ${file} (holds private keys)\n`)
  } else {
    process.stdout.write(text)
  }
})
