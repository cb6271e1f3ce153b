// The benchmark's baseline: runs baseline/launcher.sh, a shell script that does
// the original bash launcher's podman and ssh-keygen work one command after
// another, and times it. By default it uses the trivial images and bench- names
// of trivial-images/, so it clashes with nothing real.
//
//   npx tsx test/bench/baseline.ts --selftest   (needs podman; JH_SLURM_PODMAN)
import fs from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { $ } from 'zx'

const here = path.dirname(fileURLToPath(import.meta.url))
const launcher = path.join(here, 'baseline', 'launcher.sh')
const trivial = path.join(here, 'trivial-images')
// Under the repository (git-ignored), since a podman in another mount namespace
// sees only the repository at the same path.
const buildTmpRoot = path.join(here, '_build_tmp')

/** The names trivial-images/pod.yaml uses; launcher.sh defaults to the same. */
export const benchNames = {
  pod: 'bench-jupyterhub-slurm',
  volumes: ['bench-jupyterhub_root', 'bench-slurm_root'],
  secrets: [
    'bench-jupyterhub-slurm-ssh-client-key',
    'bench-jupyterhub-slurm-ssh-host-key',
    'bench-jupyterhub-slurm-dev-login',
  ],
  images: { hub: 'localhost/bench-brics_jupyterhub:dev-latest', slurm: 'localhost/bench-brics_slurm:dev-latest' },
}

export interface BaselineOptions {
  /** podman command, split on white space; default $JH_SLURM_PODMAN, else `podman` */
  podman?: string
  /** environment whose volumes/<env>/ and config/<env>/dev_users are used; default dev_dummyauth */
  env?: string
  /** more BASELINE_* variables for launcher.sh (other images, template, names) */
  settings?: Record<string, string>
  /** stream the script's output instead of keeping it quiet */
  verbose?: boolean
}

export function podmanArgv(command = process.env.JH_SLURM_PODMAN ?? ''): string[] {
  const words = command.trim().split(/\s+/).filter(Boolean)
  return words.length > 0 ? words : ['podman']
}

/** Runs `launcher.sh up <env>` or `launcher.sh down`; returns its wall-clock time in seconds. */
export async function runBaseline(step: 'up' | 'down', opts: BaselineOptions = {}): Promise<number> {
  await fs.mkdir(buildTmpRoot, { recursive: true })
  const buildTmp = await fs.mkdtemp(path.join(buildTmpRoot, 'baseline.'))
  const env = {
    ...process.env,
    JH_SLURM_PODMAN: podmanArgv(opts.podman).join(' '),
    BASELINE_BUILD_TMP: buildTmp,
    ...opts.settings,
  }
  const args = step === 'up' ? ['up', opts.env ?? 'dev_dummyauth'] : ['down']
  try {
    const start = performance.now()
    await $({ env, quiet: !opts.verbose })`bash ${launcher} ${args}`
    return (performance.now() - start) / 1000
  } finally {
    await fs.rm(buildTmp, { recursive: true, force: true })
  }
}

// ------------------------------------------------------------------ self-check

async function benchLeftovers(podman: string[]): Promise<string[]> {
  const names = async (kind: string) =>
    (await $`${podman} ${kind} ls --format {{.Name}}`.quiet()).stdout.split('\n').filter((n) => n.startsWith('bench-'))
  return [
    ...(await names('pod')).map((n) => `pod ${n}`),
    ...(await names('volume')).map((n) => `volume ${n}`),
    ...(await names('secret')).map((n) => `secret ${n}`),
  ]
}

/** Removes whatever bench- resources a failed run left behind. */
async function forceClean(podman: string[]): Promise<void> {
  await $`${podman} pod rm --force --time 5 ${benchNames.pod}`.quiet().nothrow()
  for (const name of [...benchNames.volumes, ...benchNames.secrets]) {
    await $`${podman} volume rm --force ${name}`.quiet().nothrow()
  }
  for (const name of benchNames.secrets) await $`${podman} secret rm ${name}`.quiet().nothrow()
}

async function check(what: string, ok: boolean | Promise<boolean>): Promise<void> {
  if (!(await ok)) throw new Error(`selftest: ${what}`)
}

async function checkUp(podman: string[]): Promise<void> {
  const state = (await $`${podman} pod inspect --format {{.State}} ${benchNames.pod}`.quiet()).stdout.trim()
  await check(`pod ${benchNames.pod} is ${state}, not Running`, state === 'Running')
  const inHub = (cmd: string) => $`${podman} exec ${benchNames.pod}-jupyterhub sh -c ${cmd}`.quiet().nothrow()
  const inSlurm = (cmd: string) => $`${podman} exec ${benchNames.pod}-slurm sh -c ${cmd}`.quiet().nothrow()
  await check(
    'hub has its key and config',
    inHub('test -s /srv/jupyterhub/ssh_key && test -f /etc/jupyterhub/jupyterhub_config.py').then((r) => r.ok),
  )
  await check(
    'slurm volume owned by 64030',
    inSlurm('test "$(stat -c %u /var/log/slurmd.log)" = 64030').then((r) => r.ok),
  )
}

async function selftest(): Promise<void> {
  const podman = podmanArgv()
  console.log(`podman: ${podman.join(' ')}`)
  const left = await benchLeftovers(podman)
  if (left.length > 0) {
    console.log(`removing leftovers of an earlier run: ${left.join(', ')}`)
    await forceClean(podman)
  }
  const start = performance.now()
  for (const [image, dir] of [
    [benchNames.images.hub, 'hub'],
    [benchNames.images.slurm, 'slurm'],
  ] as const) {
    await $`${podman} build --target=stage-dev -t ${image} -f ${path.join(trivial, dir, 'Containerfile')} ${path.join(trivial, dir)}`.quiet()
  }
  console.log(`trivial images built in ${((performance.now() - start) / 1000).toFixed(2)} s`)
  try {
    for (let cycle = 1; cycle <= 2; cycle++) {
      const up = await runBaseline('up')
      await checkUp(podman)
      const down = await runBaseline('down')
      const after = await benchLeftovers(podman)
      await check(`down left ${after.join(', ')}`, after.length === 0)
      console.log(`cycle ${cycle}: baseline up ${up.toFixed(2)} s, down ${down.toFixed(2)} s`)
    }
  } catch (error) {
    await forceClean(podman)
    throw error
  }
  console.log('selftest passed: pod Running after up, no bench- pod, volume or secret after down')
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--selftest')) {
  await selftest()
}
