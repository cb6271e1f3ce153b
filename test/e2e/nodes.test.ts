// End to end, on real podman: Slurm's compute nodes (docs/architecture.md,
// "Compute nodes"), in a copy of dev_dummyauth with the default two nodes of
// 4 GPUs each.
// - `up` brings up the node pods; `status` lists them with their GPUs.
// - A spawn runs on a node whose address differs from the hub's, and its
//   server answers through the proxy.
// - Two users asking for 4 GPUs each run at once, on two nodes; a third
//   request waits pending with Slurm's reason on the spawn page and starts
//   once a node frees.
// - A notebook user's process on a node cannot reach the proxy's API in the
//   hub's pod (a job beside the hub could).
// - `down` leaves nothing of the environment.
import http from 'node:http'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerName, dnsName, networkName } from '../../scripts/lib/names.ts'
import { nodeContainer } from '../../scripts/lib/nodes.ts'
import { POD_PORTS } from '../../scripts/lib/pod-facts.ts'
import { podman } from '../../scripts/lib/podman.ts'
import { formAction, HubClient } from './lib/browserless.ts'
import { devLogin, labAnswers, spawnForm } from './lib/jupyterlab.ts'
import { npmRun, podmanOut, waitFor } from './lib/run.ts'
import { cleanAround, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { ownTestEnvironment } from './lib/test-environments.ts'

const env = ownTestEnvironment('dev_dummyauth', 'e2e_nodes', 9010)
const USER = 'testuser'
const slurm = containerName(env.names, 'slurm')

/** Runs a shell command as `user` on `container` (the login node unless named); output and exit code. */
async function asUser(user: string, command: string, container = slurm): Promise<{ out: string; code: number }> {
  const r = await podman(['exec', container, 'su', '-', user, '-c', command], { nothrow: true })
  return { out: `${r.stdout}${r.stderr}`.trim(), code: r.exitCode }
}

/** A job of `user` that holds 4 GPUs of one node, as a user submits it on the login node; its id. */
async function holdFourGpus(user: string): Promise<string> {
  const r = await asUser(user, 'cd && sbatch --parsable --nodes=1 --gpus=4 --wrap "sleep 3600"')
  assert.is(r.code, 0, r.out)
  return r.out
}

/** The state, node and reason of a job: "RUNNING node-1 None", "PENDING  Resources". */
const jobState = async (job: string): Promise<string> =>
  podmanOut(['exec', slurm, 'squeue', '--noheader', '--jobs', job, '--format', '%T %N %r'])

const runningOn = (job: string) =>
  waitFor(`job ${job} running`, 60_000, async () => /^RUNNING (node-\d)/.exec(await jobState(job))?.[1], 500)

/** The address a name has on the environment's network, as the hub's pod resolves it. */
const addressOf = async (name: string): Promise<string> =>
  (await podmanOut(['exec', slurm, 'getent', 'hosts', name])).split(/\s+/)[0] ?? ''

/**
 * The messages of the spawn page's progress (the event stream its page
 * reads) until one matches `wanted`; that one.
 */
function progressSays(client: HubClient, user: string, wanted: RegExp, timeoutMs = 30_000): Promise<string> {
  const path = `jupyter/hub/api/users/${user}/server/progress`
  const url = new URL(path, client.base)
  const headers = { cookie: client.cookiesFor(path), 'X-XSRFToken': client.xsrfFor(path), accept: 'text/event-stream' }
  return new Promise((resolve, reject) => {
    const messages: string[] = []
    const request = http.get(url, { headers }, (response) => {
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        for (const [, data] of chunk.matchAll(/^data: (.*)$/gm)) {
          const message = String((JSON.parse(data as string) as { message?: string }).message ?? '')
          messages.push(message)
          if (wanted.test(message)) {
            request.destroy()
            resolve(message)
          }
        }
      })
    })
    request.on('error', () => undefined)
    setTimeout(() => {
      request.destroy()
      reject(new Error(`the spawn page's progress never said ${wanted}; it said: ${messages.join(' | ')}`))
    }, timeoutMs)
  })
}

/** testuser's job (the hub's spawn): its id. */
const spawnedJob = async (): Promise<string> =>
  podmanOut([
    'exec',
    slurm,
    'squeue',
    '--noheader',
    '--user',
    'testuser.project1',
    '--name',
    'spawner-jupyterhub',
    '--format',
    '%i',
  ])

await whenProvisioned(() => {
  const upEnv = upEnvironment()
  const client = new HubClient(env.url)
  let otherJob = ''

  cleanAround(() => [env.names])

  test('up brings up two nodes of 4 GPUs each, registered in Slurm; status lists them', async () => {
    const run = await phase('nodes: up', () => npmRun('up', [env.name], { env: upEnv }))
    assert.is(run.code, 0, run.output)
    const status = await npmRun('status', ['--json'], { env: upEnv })
    assert.is(status.code, 0, status.output)
    const mine = (JSON.parse(status.output).environments as Array<Record<string, any>>).find(
      (e) => e.environment === env.name,
    )
    assert.equal(
      mine?.nodes.map((n: Record<string, unknown>) => [n.name, n.state, n.gpus, n.gpusInUse]),
      [
        ['node-1', 'idle', 4, 0],
        ['node-2', 'idle', 4, 0],
      ],
    )
  })

  test("a spawn runs on a node whose address differs from the hub's; its server answers through the proxy", async () => {
    otherJob = await holdFourGpus('otheruser.project1')
    const otherNode = await runningOn(otherJob)
    await devLogin(client, env.name)
    const form = await client.request('jupyter/hub/spawn')
    await phase('nodes: spawn with 4 GPUs', () => client.request(formAction(form.body), { form: spawnForm('4') }))
    await waitFor("testuser's server", 300_000, () => labAnswers(client, USER), 1000)
    const node = await runningOn(await spawnedJob())
    assert.is.not(node, otherNode, 'two 4-GPU jobs, one on each node')
    const [nodeAddress, hubAddress] = [await addressOf(node), await addressOf(env.names.pod)]
    assert.match(nodeAddress, /^\d+\.\d+\.\d+\.\d+$/)
    assert.is.not(nodeAddress, hubAddress)
    // The server listens on the node, not in the hub's pod.
    const listening = await asUser('testuser.project1', 'ss -ltnp 2>/dev/null | grep -c jupyter || true')
    assert.is(listening.out, '0', 'no server of the user listens on the login node')
  })

  test("a notebook user's process on a node cannot reach the proxy's API in the hub's pod; the hub API it can", async () => {
    const node = nodeContainer(env.names, Number((await runningOn(await spawnedJob())).slice(5)))
    const tryPort = async (host: string, port: number, where: string) =>
      (
        await asUser(
          'testuser.project1',
          `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null && echo open || echo closed`,
          where,
        )
      ).out
    assert.is(await tryPort(env.names.pod, POD_PORTS.proxyApi, node), 'closed')
    assert.is(await tryPort('127.0.0.1', POD_PORTS.proxyApi, node), 'closed')
    assert.is(await tryPort(env.names.pod, POD_PORTS.hubApi, node), 'open')
    // In the hub's pod (the login node, where jobs ran before there were nodes) the same process can.
    assert.is(await tryPort('127.0.0.1', POD_PORTS.proxyApi, slurm), 'open')
  })

  test("a third 4-GPU request waits pending with Slurm's reason on the spawn page, and starts once a node frees", async () => {
    const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}`)
    await waitFor('the server to stop', 60_000, async () => ((await spawnedJob()) === '' ? true : undefined), 500)
    // Both nodes busy: otheruser's job on one, one of testuser's own on the other.
    const ownJob = await holdFourGpus('testuser.project1')
    const [otherNode, ownNode] = [await runningOn(otherJob), await runningOn(ownJob)]
    assert.is.not(ownNode, otherNode)
    const form = await client.request('jupyter/hub/spawn')
    const pending = await phase('nodes: spawn that waits', () =>
      client.request(formAction(form.body), { form: spawnForm('4') }),
    )
    assert.match(pending.url, /spawn-pending/)
    const said = await progressSays(client, USER, /Slurm's reason: Resources/)
    assert.match(said, /Waiting in Slurm's queue: the GPUs it asks for are in use on every node/)
    assert.match(await jobState(await spawnedJob()), /^PENDING\s+Resources$/)
    // otheruser's job ends: the spawn starts on the node it freed.
    assert.is((await asUser('otheruser.project1', `scancel ${otherJob}`)).code, 0)
    await waitFor("testuser's server once a node is free", 120_000, () => labAnswers(client, USER), 1000)
    assert.is(await runningOn(await spawnedJob()), otherNode)
    await asUser('testuser.project1', `scancel ${ownJob}`)
  })

  test('down leaves nothing of the environment: pods, network, volumes, secrets', async () => {
    const run = await npmRun('down', [env.name], { env: upEnv })
    assert.is(run.code, 0, run.output)
    const id = dnsName(env.name)
    const left = await Promise.all([
      podmanOut(['pod', 'ps', '--format', '{{.Name}}']),
      podmanOut(['network', 'ls', '--format', '{{.Name}}']),
      podmanOut(['volume', 'ls', '--format', '{{.Name}}']),
      podmanOut(['secret', 'ls', '--format', '{{.Name}}']),
    ])
    const ours = left
      .flatMap((list) => list.split('\n'))
      .filter((name) => name.endsWith(id) || name.includes(`${id}-node-`))
    assert.equal(ours, [])
    assert.not.ok(left[1]?.split('\n').includes(networkName(env.names)))
  })
})

test.run()
