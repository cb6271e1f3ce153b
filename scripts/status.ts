// `jh-slurm-pod status [--json]`: the environments that are up. Exits 0 whatever is up.
import { defineCommand } from './lib/command.ts'
import { listEnvironments } from './lib/environment.ts'
import { environmentsUp, takeInventory } from './lib/inventory.ts'
import { COMMANDS } from './lib/options.ts'
import { withPodman } from './lib/podman.ts'
import { currentBaseUrl, describe, formatStatus } from './lib/status.ts'

export const command = defineCommand(COMMANDS.status, async ({ values }, repo) => {
  const inventory = await withPodman(takeInventory)
  const statuses = environmentsUp(inventory, listEnvironments(repo)).map((up) =>
    describe({ ...up, baseUrl: currentBaseUrl(repo, up) }),
  )
  process.stdout.write(
    values.json ? `${JSON.stringify({ environments: statuses }, null, 2)}\n` : formatStatus(statuses),
  )
})
