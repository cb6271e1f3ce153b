// Time to a usable notebook: brings up dev_dummyauth with the real images
// (build settings from the machine, as `up` takes them), logs in, and times
// from the spawn request to JupyterLab answering through the proxy.
import { UserError } from '../../scripts/lib/errors.ts'
import { containerName, resourceNames } from '../../scripts/lib/names.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { podman } from '../../scripts/lib/podman.ts'
import { pollUntil } from '../../scripts/lib/wait.ts'
import { formAction, HubClient } from '../e2e/lib/browserless.ts'
import { devLogin, labAnswers, spawnForm } from '../e2e/lib/jupyterlab.ts'
import { timed } from './timed.ts'

const ENV = 'dev_dummyauth'
const USER = 'testuser'
const names = resourceNames(ENV)
const ours = (...args: string[]) => timed([process.execPath, 'bin/jh-slurm-pod.mjs', ...args], { cwd: repoRoot })

async function inContainer(container: string, command: string[]): Promise<string> {
  return (await podman(['exec', container, ...command], { nothrow: true })).stdout.trim()
}

/** One spawn, timed from the form's submission to JupyterLab through the proxy; then the server is stopped. */
async function spawnOnce(client: HubClient): Promise<number> {
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
  const squeue = () => inContainer(containerName(names, 'slurm'), ['squeue', '-h'])
  await pollUntil(120_000, async () => ((await squeue()) === '' ? true : undefined), 200)
  const serverGone = async () =>
    JSON.parse((await client.api(`jupyter/hub/api/users/${USER}`)).body).servers?.[''] ? undefined : true
  await pollUntil(60_000, serverGone, 200)
  return seconds
}

export async function timeToNotebook(spawns: number): Promise<number[]> {
  console.log(`time to notebook: bringing up ${ENV} with the real images`)
  await ours('up', ENV)
  const seconds: number[] = []
  try {
    const client = new HubClient('http://127.0.0.1:8000/')
    await devLogin(client, ENV)
    for (let i = 0; i < spawns; i++) {
      seconds.push(await spawnOnce(client))
      console.log(`  spawn ${i + 1}: ${seconds.at(-1)?.toFixed(2)} s`)
    }
  } finally {
    await ours('down', ENV)
  }
  return seconds
}
