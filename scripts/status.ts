// `jh-slurm-pod status [--json]`: the environments that are up. Exits 0 whatever is up.
import { defineCommand } from './lib/command.ts'
import { listEnvironments } from './lib/environment.ts'
import { environmentsUp, takeInventory } from './lib/inventory.ts'
import { COMMANDS } from './lib/options.ts'
import { checkPodman } from './lib/podman.ts'
import { describe, formatStatus } from './lib/status.ts'

export const command = defineCommand(COMMANDS.status, async ({ values }, repo) => {
  await checkPodman()
  const statuses = environmentsUp(await takeInventory(), listEnvironments(repo)).map(describe)
  process.stdout.write(
    values.json ? `${JSON.stringify({ environments: statuses }, null, 2)}\n` : formatStatus(statuses),
  )
})
