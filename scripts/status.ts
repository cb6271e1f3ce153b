// `jh-slurm-pod status [--json]`: the environments that are up. Exits 0 whatever is up.
import { defineCommand } from './lib/command.ts'
import { listEnvironments } from './lib/environment.ts'
import { environmentsUp, takeInventory } from './lib/inventory.ts'
import { COMMANDS } from './lib/options.ts'
import { withPodman } from './lib/podman.ts'
import { tunnelStatus } from './lib/nadir-server.ts'
import { nodesStatus } from './lib/nodes.ts'
import { currentBaseUrl, describe, formatStatus, slurmJobs } from './lib/status.ts'

export const command = defineCommand(COMMANDS.status, async ({ values }, repo) => {
  const inventory = await withPodman(takeInventory)
  const ups = environmentsUp(inventory, listEnvironments(repo))
  const statuses = ups.map((up) => describe({ ...up, baseUrl: currentBaseUrl(repo, up) }))
  // The Nadir tunnel, where the environment has a stand-in server, and Slurm's nodes (one exec each).
  await Promise.all(
    ups.map(async (up, i) => {
      const [tunnel, nodes] = await Promise.all([tunnelStatus(inventory, up), nodesStatus(inventory, up)])
      const status = statuses[i] as (typeof statuses)[number]
      if (tunnel) status.tunnel = tunnel
      if (nodes) status.nodes = nodes
    }),
  )
  // For scripts, the queue and the last jobs of each pod's Slurm too (one exec each, so not in the plain listing).
  if (values.json)
    await Promise.all(
      ups.map(async (up, i) => {
        const jobs = await slurmJobs(up)
        if (jobs) (statuses[i] as (typeof statuses)[number]).slurm = jobs
      }),
    )
  process.stdout.write(
    values.json ? `${JSON.stringify({ environments: statuses }, null, 2)}\n` : formatStatus(statuses),
  )
})
