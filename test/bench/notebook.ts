// Time to a usable notebook: brings up the test copy of dev_dummyauth (its own
// name, port and image tag: lib/test-environments.ts) with the real images
// (build settings from the machine, as `up` takes them), logs in, and times
// from the spawn request to JupyterLab answering through the proxy.
import { UserError } from '../../scripts/lib/errors.ts'
import { containerName } from '../../scripts/lib/names.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { podman } from '../../scripts/lib/podman.ts'
import { pollUntil } from '../../scripts/lib/wait.ts'
import { formAction, HubClient } from '../e2e/lib/browserless.ts'
import { devLogin, labAnswers, spawnForm } from '../e2e/lib/jupyterlab.ts'
import { testEnvironment } from '../e2e/lib/test-environments.ts'
import { timed } from './timed.ts'

const USER = 'testuser'
const ours = (...args: string[]) => timed([process.execPath, 'bin/jh-slurm-pod.mjs', ...args], { cwd: repoRoot })

async function inContainer(container: string, command: string[]): Promise<string> {
  return (await podman(['exec', container, ...command], { nothrow: true })).stdout.trim()
}

/** One spawn, timed from the form's submission to JupyterLab through the proxy; then the server is stopped. */
async function spawnOnce(client: HubClient, slurmContainer: string): Promise<number> {
  const form = await client.request('jupyter/hub/spawn')
  const start = performance.now()
  await client.request(formAction(form.body), { form: spawnForm() })
  const { value } = await pollUntil(
    120_000,
    async () => (/JupyterLab/.test((await labAnswers(client, USER))?.body ?? '') ? true : undefined),
    100,
  )
  if (!value) throw new UserError('JupyterLab did not answer within 120 s')
  const seconds = (performance.now() - start) / 1000
  await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
  const squeue = () => inContainer(slurmContainer, ['squeue', '-h'])
  await pollUntil(120_000, async () => ((await squeue()) === '' ? true : undefined), 200)
  const serverGone = async () =>
    JSON.parse((await client.api(`jupyter/hub/api/users/${USER}`)).body).servers?.[''] ? undefined : true
  await pollUntil(60_000, serverGone, 200)
  return seconds
}

export async function timeToNotebook(spawns: number): Promise<number[]> {
  const { name: ENV, names, url } = testEnvironment('dev_dummyauth')
  console.log(`time to notebook: bringing up ${ENV} with the real images`)
  await ours('up', ENV)
  const seconds: number[] = []
  try {
    const client = new HubClient(url)
    await devLogin(client, ENV)
    for (let i = 0; i < spawns; i++) {
      seconds.push(await spawnOnce(client, containerName(names, 'slurm')))
      console.log(`  spawn ${i + 1}: ${seconds.at(-1)?.toFixed(2)} s`)
    }
  } finally {
    await ours('down', ENV)
  }
  return seconds
}
