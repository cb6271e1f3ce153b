// `jh-slurm-pod volumes <env>`: create and fill the volumes the environment's pod claims.
import { defineCommand } from './lib/command.ts'
import { resolveEnvironment } from './lib/environment.ts'
import { COMMANDS } from './lib/options.ts'
import { volumeOwners } from './lib/owners.ts'
import { checkPodman } from './lib/podman.ts'
import { readPodTemplate, templateUse } from './lib/template.ts'
import { createVolume, volumeSpecs } from './lib/volumes.ts'

export const command = defineCommand(COMMANDS.volumes, async ({ positionals }, repo) => {
  const env = resolveEnvironment(positionals[0], repo)
  const specs = volumeSpecs(env, volumeOwners(), templateUse(await readPodTemplate(env.podTemplate)).volumes)
  await checkPodman()
  for (const spec of specs) {
    await createVolume(spec, (line) => process.stderr.write(`  ${line}\n`))
    console.log(`created volume ${spec.name}`)
  }
})
