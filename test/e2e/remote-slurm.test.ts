// End to end, on real podman: the hub-only environments against a Slurm
// cluster that runs apart from them. A stand-in login node (our own Slurm
// image, in a container of its own on a podman network; lib/cluster.ts)
// plays the cluster. The test copies of dev_dummyauth_extslurm and prod are brought up with
// their documented settings only: deploy settings, the hub's SSH key and the
// login node's host key as files, the network, and for prod the release's
// repository (a git server of the upstream bundle) and the test OIDC issuer.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { environmentsUpNow } from '../../scripts/lib/teardown.ts'
import { containerName, imageRef, resourceNames } from '../../scripts/lib/names.ts'
import { podman } from '../../scripts/lib/podman.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { formAction, HubClient, selectOptions } from './lib/browserless.ts'
import { CLUSTER_GPUS, CLUSTER_HOST, CLUSTER_NETWORK, type Cluster, startCluster } from './lib/cluster.ts'
import { serveBundle } from './lib/git-server.ts'
import { devLogin, spawnForm as form, labAnswers } from './lib/jupyterlab.ts'
import { startIssuer } from './lib/oidc-issuer.ts'
import { npmRun, podmanOut, waitFor } from './lib/run.ts'
import { cleanAround, outputDir, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { TEST_PROD_TAG, testEnvironment } from './lib/test-environments.ts'
import { upstreamRepositories } from './lib/upstream.ts'

const USER = 'testuser'
const ACCOUNT = 'testuser.project1'
const extslurmEnv = testEnvironment('dev_dummyauth_extslurm')
const prodEnv = testEnvironment('prod')
const EXT = extslurmEnv.name
const PROD = prodEnv.name
const extslurm = extslurmEnv.names
const prod = prodEnv.names
const EXT_HUB = extslurmEnv.url
const PROD_HUB = prodEnv.url
/** The stage-prod image the prod test builds and runs, under a test tag of its own. */
const PROD_IMAGE = imageRef('jupyterhub', TEST_PROD_TAG)

await whenProvisioned(() => {
  const upEnv = upEnvironment()
  const dir = path.join(outputDir, 'cluster')
  let cluster: Cluster

  /** Deploy settings for the stand-in cluster, laid over the environment's example. */
  const clusterSettings = (envName: string, extra = ''): string => {
    const file = path.join(dir, `${envName}-deploy-config.yaml`)
    fs.writeFileSync(
      file,
      [
        `sshHostname: ${CLUSTER_HOST}`,
        'slurmSpawnerWrappersBin: /opt/jupyter/slurmspawner_wrappers/bin',
        'jupyterUserEnvDir: /opt/jupyter/jupyter-user-env',
        'jupyterDataDir: /opt/jupyter/jupyter_data',
        // The pod's name is its host name on the network the jobs share with it.
        `hubConnectUrl: http://${resourceNames(envName).pod}:8081`,
        extra,
      ].join('\n'),
    )
    return file
  }
  const onCluster = (command: string[]) => cluster.exec(command)
  const hubLog = async (names = extslurm) => {
    const logs = await podman(['logs', containerName(names, 'jupyterhub')], { nothrow: true })
    return `${logs.stdout}${logs.stderr}`
  }
  const leftovers = async (envName: string) =>
    (await environmentsUpNow(repoPaths())).up.filter((e) => e.names.env === envName).flatMap((e) => e.resources)

  /** `up` of extslurm's test copy against the login node, with the given known_hosts file. */
  const upExtslurm = (knownHostsFile: string) =>
    npmRun(
      'up',
      [
        EXT,
        '--network',
        CLUSTER_NETWORK,
        '--ssh-client-key',
        cluster.clientKeyFile,
        '--ssh-known-hosts',
        knownHostsFile,
      ],
      {
        env: { ...upEnv, JH_SLURM_DEPLOY_CONFIG: clusterSettings(EXT) },
      },
    )

  async function dummyLogin(hub: string, envName: string): Promise<HubClient> {
    const client = new HubClient(hub)
    assert.match((await devLogin(client, envName)).url, /\/jupyter\/hub\/spawn$/)
    return client
  }

  async function serverThroughProxy(client: HubClient, what: string): Promise<void> {
    const lab = await waitFor(what, 420_000, () => labAnswers(client, USER), 2000)
    assert.match(lab.body, /JupyterLab/)
  }

  async function stopAndWait(client: HubClient): Promise<void> {
    const stop = await client.api(`jupyter/hub/api/users/${USER}/server`, 'DELETE')
    assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}`)
    await waitFor('the job to leave the cluster queue', 120_000, async () =>
      (await onCluster(['squeue', '-h'])) === '' ? true : undefined,
    )
  }

  cleanAround(() => [extslurm, prod])
  test.before(async () => {
    // The login node runs our Slurm image, built as the suites' `up` builds it (test tag).
    const build = await phase('build the Slurm image for the login node', () =>
      npmRun('build-images', ['--image', 'slurm'], { env: upEnv }),
    )
    assert.is(build.code, 0, 'npm run build-images -- --image slurm failed')
    cluster = await phase('start the stand-in login node', () =>
      startCluster(dir, ['testuser.project1', 'testuser.project2']),
    )
  })

  // A test that fails half-way leaves its job on the cluster; the next one starts on an empty queue.
  test.after.each(async () => {
    await cluster?.exec(['scancel', '--user', ACCOUNT]).catch(() => undefined)
  })

  test.after(async () => {
    await cluster?.stop()
  })

  test("extslurm without the operator's files: one line naming them, nothing made", async () => {
    const run = await npmRun('up', [EXT], { env: upEnv })
    assert.is(run.code, 2)
    assert.match(
      run.output,
      new RegExp(
        `error: ${EXT} runs its jobs on a Slurm cluster outside the pod: give the hub's SSH key with --ssh-client-key FILE`,
      ),
    )
    assert.equal(await leftovers(EXT), [])
  })

  test('extslurm: a wrong host key is refused, the hub log says so, and no job is submitted', async () => {
    const run = await phase(`up ${EXT} (wrong host key)`, () => upExtslurm(cluster.wrongKnownHostsFile))
    assert.is(run.code, 0, 'up failed')
    const client = await dummyLogin(EXT_HUB, EXT)
    const spawnForm = await client.request('jupyter/hub/spawn')
    await client.request(formAction(spawnForm.body), { form: form() })
    const log = await waitFor('the refusal in the hub log', 60_000, async () => {
      const text = await hubLog()
      return /Host key verification failed/.test(text) ? text : undefined
    })
    assert.match(log, /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/)
    await waitFor('the spawn to be given up', 60_000, async () => {
      const user = JSON.parse((await client.api(`jupyter/hub/api/users/${USER}`)).body)
      return user.servers?.['']?.pending ? undefined : true
    })
    assert.is(await onCluster(['squeue', '-h']), '', 'a job reached the cluster')
    assert.is(await onCluster(['sh', '-c', 'ls /home/project1/testuser.project1/ | grep -c slurmspawner || true']), '0')
    const down = await npmRun('down', [EXT])
    assert.is(down.code, 0)
    assert.equal(await leftovers(EXT), [])
  })

  test('extslurm: login, spawn, the job runs on the cluster as testuser.project1, the server answers through the proxy, stop cancels it, down leaves nothing', async () => {
    const run = await phase(`up ${EXT}`, () => upExtslurm(cluster.knownHostsFile))
    assert.is(run.code, 0, 'up failed')
    assert.ok(run.output.includes(`Environment ${EXT} is up: ${EXT_HUB}jupyter/`), run.output)
    // The hub alone: no Slurm container in this pod.
    const containers = (await podmanOut(['ps', '--filter', `pod=${extslurm.pod}`, '--format', '{{.Names}}'])).split(
      '\n',
    )
    assert.equal(
      containers.filter((name) => !name.endsWith('-infra')).sort(),
      // The hub alone, with its proxy beside it: no Slurm container in the pod.
      [containerName(extslurm, 'jupyterhub'), containerName(extslurm, 'proxy')],
    )

    const client = await dummyLogin(EXT_HUB, EXT)
    let spawnForm = await client.request('jupyter/hub/spawn')
    assert.equal(selectOptions(spawnForm.body, 'brics_project'), ['project1.brics', 'project2.brics'])
    assert.equal(selectOptions(spawnForm.body, 'ngpus'), ['1', '2', '3', '4'])

    // More GPUs than the cluster has: Slurm refuses the job, and the hub tells the user why.
    assert.ok(CLUSTER_GPUS < 4)
    const refused = await client.request(formAction(spawnForm.body), { form: form('4') })
    // The answer is the spawn form again, with sbatch's message above it.
    assert.match(
      refused.body,
      /class="spawn-error-msg[^"]*">Error: The job could not be submitted: sbatch: error: Batch job submission failed: Requested node configuration is not available</,
    )
    assert.equal(selectOptions(refused.body, 'ngpus'), ['1', '2', '3', '4'])
    assert.is(await onCluster(['squeue', '-h']), '', 'a refused job is in the queue')

    // Submitted again from that form, with GPUs the cluster has, the spawn works.
    spawnForm = refused
    await phase('extslurm: spawn request', () => client.request(formAction(spawnForm.body), { form: form('2') }))
    // Running, so that it has a node: a job waits in the queue a moment before the scheduler places it.
    const job = await waitFor('the job running on the cluster', 120_000, async () => {
      const line = (await onCluster(['squeue', '-h', '-o', '%i|%u|%N']))
        .split('\n')
        .find((l) => l.split('|')[1] === ACCOUNT)
      const fields = line?.split('|')
      return fields?.[2] ? fields : undefined
    })
    assert.is(job[2], CLUSTER_HOST)
    // The batch script asks for the GPUs picked, on one node; Slurm gave them.
    const script = await onCluster(['scontrol', 'write', 'batch_script', job[0] as string, '-'])
    assert.match(script, /^#SBATCH --gpus=2$/m)
    assert.match(script, /^#SBATCH --nodes=1$/m)
    assert.match(await onCluster(['scontrol', 'show', 'job', job[0] as string]), /TresPerJob=gres:gpu:2\b/)
    await phase('extslurm: server ready', () => serverThroughProxy(client, 'the server on the cluster'))
    // `logs job`: the output file is on the cluster, so logs says where it is and how to read it; it is there.
    const output = `/home/project1/${ACCOUNT}/jupyterhub_slurmspawner_${job[0]}.log`
    const logs = await npmRun('logs', [EXT, 'job'])
    assert.is(logs.code, 0)
    assert.match(logs.output, new RegExp(`job ${job[0]} ran on the cluster \\(login node ${CLUSTER_HOST}\\)`))
    assert.ok(logs.output.includes(`Its output file there: ${output}`), logs.output)
    assert.ok(logs.output.includes(`ssh ${ACCOUNT}@${CLUSTER_HOST} cat ${output}`), logs.output)
    assert.is(await onCluster(['stat', '-c', '%U', output]), ACCOUNT)
    const slurmLogs = await npmRun('logs', [EXT, 'slurm'])
    assert.is(slurmLogs.code, 1)
    assert.ok(slurmLogs.output.includes(`error: environment ${EXT} has no Slurm container`), slurmLogs.output)
    const sshd = await onCluster(['cat', '/var/log/sshd.log'])
    assert.match(sshd, /Accepted publickey for jupyterspawner from 10\.\d+\.\d+\.\d+/)
    await stopAndWait(client)
    const log = await hubLog()
    assert.match(log, /slurmspawner_squeue/, 'the hub ran ssh commands and logged them')
    assert.not.match(log, /setlocale/)

    const down = await phase(`down ${EXT}`, () => npmRun('down', [EXT]))
    assert.is(down.code, 0)
    assert.equal(await leftovers(EXT), [])
    assert.is(await podmanOut(['ps', '-a', '--filter', `name=${extslurm.pod}`, '--format', '{{.Names}}']), '')
    // The cluster is not ours to remove.
    assert.match(
      await podmanOut(['ps', '--filter', `name=${CLUSTER_HOST}`, '--format', '{{.Names}}']),
      new RegExp(CLUSTER_HOST),
    )
  })

  test('prod: build-images --target stage-prod and manifest without a terminal; up prod with the test issuer; a valid token spawns on the cluster', async () => {
    const upstream = upstreamRepositories() as { env: Record<string, string> }
    const git = await serveBundle(upstream.env.JH_SLURM_BRICSAUTHENTICATOR_URL as string, 'bricsauthenticator')
    const audience = 'e2e-jupyter'
    const platform = 'e2e.notebooks.shared'
    const issuer = await startIssuer(audience)
    // The release is installed from its repository: here, the git server of the bundle.
    const release = ['--hub-build-arg', `BRICSAUTHENTICATOR_REPO=${git.url}`]
    try {
      const build = await phase('build-images --target stage-prod', () =>
        npmRun(
          'build-images',
          ['--image', 'jupyterhub', '--target', 'stage-prod', '--tag', TEST_PROD_TAG, ...release],
          {
            env: upEnv,
          },
        ),
      )
      assert.is(build.code, 0, 'build-images --target stage-prod failed')
      assert.ok(build.output.includes(`built ${PROD_IMAGE}`), build.output)
      const shown = await podmanOut(['run', '--rm', PROD_IMAGE, 'python3', '-m', 'pip', 'show', 'bricsauthenticator'])
      assert.match(shown, /^Version: 0\.7\.0$/m)
      assert.is(
        await podmanOut(['run', '--rm', PROD_IMAGE, 'sh', '-c', 'test -e /srv/dev_data && echo dev || echo prod']),
        'prod',
      )

      const settings = clusterSettings(
        PROD,
        `oidcServer: ${issuer.url}\nbricsPlatform: ${platform}\njwtAudience: ${audience}\njwtLeeway: "5"\n`,
      )
      // The Nadir tunnel's client gets a server that is nowhere: it keeps trying, and the hub is reached on the host.
      const nadirAddress = path.join(outputDir, 'nadir_config')
      fs.writeFileSync(nadirAddress, 'nadir.invalid\n')
      const nadirFiles = ['--nadir-ssh-key', cluster.clientKeyFile, '--nadir-server-address', nadirAddress]
      const manifest = await npmRun(
        'manifest',
        [
          PROD,
          '--tag',
          '2026.11',
          '--registry',
          'registry.example.org/brics',
          '--ssh-client-key',
          cluster.clientKeyFile,
          '--ssh-known-hosts',
          cluster.knownHostsFile,
          ...nadirFiles,
        ],
        {
          env: { JH_SLURM_DEPLOY_CONFIG: settings },
        },
      )
      assert.is(manifest.code, 0)
      assert.match(manifest.output, /image: registry\.example\.org\/brics\/brics_jupyterhub:2026\.11/)
      assert.match(manifest.output, /image: registry\.example\.org\/brics\/nadir-client:2026\.11/)
      assert.match(manifest.output, /name: jupyterhub-slurm-ssh-nadir-key-e2e-prod\n/)
      assert.match(manifest.output, /server_address: \|\n\s+nadir\.invalid\n/)
      assert.not.match(manifest.output, /dev-user-config|dev-login|DEV_USER_CONFIG|brics_slurm/)

      const run = await phase('up prod', () =>
        npmRun(
          'up',
          [
            PROD,
            '--tag',
            TEST_PROD_TAG,
            '--network',
            CLUSTER_NETWORK,
            '--ssh-client-key',
            cluster.clientKeyFile,
            '--ssh-known-hosts',
            cluster.knownHostsFile,
            ...nadirFiles,
            ...release,
          ],
          {
            env: { ...upEnv, JH_SLURM_DEPLOY_CONFIG: settings },
          },
        ),
      )
      assert.is(run.code, 0, 'up prod failed')
      assert.not.match(run.output, /Dev login password/)
      const image = await podmanOut(['inspect', containerName(prod, 'jupyterhub'), '--format', '{{.ImageName}}'])
      assert.is(image, PROD_IMAGE)
      await waitFor('the Nadir client trying its server', 30_000, async () => {
        const { stdout, stderr } = await podman(['logs', containerName(prod, 'nadir-client')])
        const line = 'connecting to nadir@nadir.invalid port 22, remote forward *:8000:127.0.0.1:8000'
        return `${stdout}${stderr}`.includes(line) || undefined
      })

      const claims = {
        short_name: USER,
        projects: { 'project1.brics': { name: 'Project One', resources: [{ name: platform, username: ACCOUNT }] } },
      }
      const refused = await new HubClient(PROD_HUB).request('jupyter/hub/login')
      assert.is(refused.status, 401)
      const user = new HubClient(PROD_HUB)
      const spawnForm = await user.request('jupyter/hub/login', {
        headers: { 'X-Auth-Id-Token': await issuer.token(claims) },
      })
      assert.is(spawnForm.status, 200)
      assert.equal(selectOptions(spawnForm.body, 'brics_project'), ['project1.brics'])
      await user.request(formAction(spawnForm.body), { form: form() })
      await waitFor('the prod job in the cluster queue', 120_000, async () =>
        (await onCluster(['squeue', '-h', '-o', '%u'])).split('\n').includes(ACCOUNT) ? true : undefined,
      )
      // prod keeps upstream's 15 s between polls of a starting server.
      await phase('prod: server ready', () => serverThroughProxy(user, 'the prod server on the cluster'))
      await stopAndWait(user)
      const down = await npmRun('down', [PROD])
      assert.is(down.code, 0)
      assert.equal(await leftovers(PROD), [])
    } finally {
      await issuer.close()
      await git.close()
    }
  })
})

test.run()
