// What the launcher and the programs inside the pod (the hub configuration,
// the proxy's command, the development issuer and the login front) must
// agree on, written once here: the ports inside the pod, the name of a job's
// output file, and which variable carries which deploy setting. The launcher
// passes them into the pod as the ConfigMap pod-facts, one variable each;
// nothing inside the pod has a copy of its own (test/unit/one-source.test.ts
// fails when one appears).
import { DEPLOY_KEYS, type DeployKey, envVarOf } from './deploy-config.ts'

/** Ports inside the pod: the proxy (published), its API, the hub API, the development issuer. */
export const POD_PORTS = { proxy: 8000, proxyApi: 8009, hubApi: 8081, issuer: 8010 } as const

/** A job's output file in its home, as the batch script names it (%j: the job's ID, as sbatch writes it). */
export const JOB_OUTPUT = 'jupyterhub_slurmspawner_%j.log'

/** The variables of the ConfigMap pod-facts. */
export const POD_FACT_VARIABLES = {
  proxyPort: 'JH_SLURM_PROXY_PORT',
  proxyApiPort: 'JH_SLURM_PROXY_API_PORT',
  hubApiPort: 'JH_SLURM_HUB_API_PORT',
  issuerPort: 'JH_SLURM_ISSUER_PORT',
  jobOutput: 'JH_SLURM_JOB_OUTPUT',
  deployVariables: 'JH_SLURM_DEPLOY_VARIABLES',
} as const

/** The ConfigMap's data. */
export function podFactsData(): Record<string, string> {
  const v = POD_FACT_VARIABLES
  return {
    [v.proxyPort]: String(POD_PORTS.proxy),
    [v.proxyApiPort]: String(POD_PORTS.proxyApi),
    [v.hubApiPort]: String(POD_PORTS.hubApi),
    [v.issuerPort]: String(POD_PORTS.issuer),
    [v.jobOutput]: JOB_OUTPUT,
    // Deploy setting -> the variable of the deploy-config ConfigMap that carries it.
    [v.deployVariables]: JSON.stringify(
      Object.fromEntries((Object.keys(DEPLOY_KEYS) as DeployKey[]).map((key) => [key, envVarOf(key)])),
    ),
  }
}
