// `jh-slurm-pod manifest <env>`: print the combined manifest of an environment
// (see lib/manifest-input.ts and lib/render.ts). Only the manifest goes to
// stdout; notes and warnings go to stderr.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { defineCommand } from './lib/command.ts'
import { deployConfigOverlay, exampleSettings } from './lib/deploy-config.ts'
import { parsePort, resolveEnvironment } from './lib/environment.ts'
import { makeSecrets, manifestInput, planRender, type RenderPlan } from './lib/manifest-input.ts'
import { defaultTag } from './lib/names.ts'
import { COMMANDS } from './lib/options.ts'
import { renderManifest } from './lib/render.ts'
import { writeSecretFile } from './lib/secret-file.ts'

/** One line naming the example values the manifest would deploy, if any. */
function exampleWarning(plan: RenderPlan, registry: string, registryGiven: boolean): string | undefined {
  const settings = exampleSettings(plan.deployConfig)
  const found = [
    ...(settings.length ? [`${settings.join(', ')} (lay your own over them with --deploy-config FILE)`] : []),
    ...(plan.nadir && /(^|\.)example\.(com|org)$/.test(plan.nadir.serverAddress)
      ? [`Nadir server ${plan.nadir.serverAddress} (--nadir-server-address FILE)`]
      : []),
    ...(plan.env.target === 'stage-prod' && !registryGiven && registry === 'localhost'
      ? [`images under ${registry}/ (give --registry PREFIX)`]
      : []),
  ]
  return found.length ? `warning: ${plan.env.name} still has example values: ${found.join('; ')}` : undefined
}

/**
 * Writes the manifest to stdout. When it holds Secrets, a file it is
 * redirected to is made 0600, and a terminal or pipe gets a notice.
 */
function writeToStdout(text: string): void {
  const stat = fs.fstatSync(1)
  const secret = /^kind: Secret$/m.test(text)
  if (secret && stat.isFile() && stat.uid === process.getuid?.()) fs.fchmodSync(1, 0o600)
  else if (secret && !stat.isFile())
    process.stderr.write(
      'note: the manifest on stdout holds private keys or passwords; --output FILE writes it readable by you only\n',
    )
  process.stdout.write(text)
}

export const command = defineCommand(COMMANDS.manifest, async ({ values, positionals, sources }, repo) => {
  const env = resolveEnvironment(positionals[0], repo)
  const settings = {
    hostPort: values.port === undefined ? undefined : parsePort(values.port, '--port'),
    deployConfig: deployConfigOverlay(values['deploy-config'], sources['deploy-config']),
    tag: values.tag ?? defaultTag(env.target),
    registry: values.registry,
    clusterFiles: { clientKey: values['ssh-client-key'], knownHosts: values['ssh-known-hosts'] },
    nadirFiles: { sshKey: values['nadir-ssh-key'], serverAddress: values['nadir-server-address'] },
  }
  const plan = await planRender(env, settings, repo, 'manifest')
  for (const note of plan.notes) process.stderr.write(`note: ${note}\n`)
  const warning = exampleWarning(plan, values.registry, sources.registry !== undefined)
  if (warning) process.stderr.write(`${warning}\n`)
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'jh_slurm_keys.'))
  let text: string
  try {
    text = renderManifest(manifestInput(plan, await makeSecrets(plan, scratch, false)))
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true })
  }
  if (!values.output) return writeToStdout(text)
  const file = path.resolve(values.output)
  await writeSecretFile(file, text)
  process.stderr.write(`wrote ${file} (holds private keys)\n`)
})
