// Shared helpers for the unit tests.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { resolveEnvironment } from '../scripts/lib/environment.ts'
import { deployConfigOverlay } from '../scripts/lib/deploy-config.ts'
import { buildValuesFromVariables } from '../scripts/lib/images.ts'
import { manifestInput, planRender } from '../scripts/lib/manifest-input.ts'
import { defaultTag } from '../scripts/lib/names.ts'
import { repoPaths, repoRoot } from '../scripts/lib/paths.ts'
import { renderManifest } from '../scripts/lib/render.ts'
import { usesExternalSlurm } from '../scripts/lib/template.ts'
import { fakePodmanDir } from './fixtures/fake-podman/compile.ts'

/** This repository, as the commands see it. */
export const repo = repoPaths(repoRoot)

/** Build option values as an empty command line and environment give them. */
export const noBuildOptions = () => buildValuesFromVariables({})

export function tempDir(prefix = 'jh-slurm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix))
}

export interface FakePodman {
  state: string
  log: string
  calls(): string[][]
  resources(): { pods: string[]; volumes: string[]; secrets: string[]; networks?: string[] }
  restore(): void
}

/** Puts the fake podman first on PATH with the given resources existing. */
export function useFakePodman(
  initial: Partial<ReturnType<FakePodman['resources']>> & {
    version?: string
    /** Set: the fake is a remote client of a service of this version. */
    server?: string
    podLabels?: Record<string, Record<string, string>>
  } = {},
): FakePodman {
  const dir = tempDir('fake-podman-')
  const state = path.join(dir, 'state.json')
  const log = path.join(dir, 'calls.log')
  fs.writeFileSync(state, JSON.stringify(initial))
  const saved = { PATH: process.env.PATH, JH_SLURM_PODMAN: process.env.JH_SLURM_PODMAN }
  process.env.PATH = `${fakePodmanDir()}:${process.env.PATH}`
  delete process.env.JH_SLURM_PODMAN
  process.env.FAKE_PODMAN_STATE = state
  process.env.FAKE_PODMAN_LOG = log
  return {
    state,
    log,
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as string[])
        : [],
    resources: () => ({ pods: [], volumes: [], secrets: [], ...JSON.parse(fs.readFileSync(state, 'utf8')) }),
    restore: () => {
      process.env.PATH = saved.PATH
      if (saved.JH_SLURM_PODMAN !== undefined) process.env.JH_SLURM_PODMAN = saved.JH_SLURM_PODMAN
      delete process.env.FAKE_PODMAN_STATE
      delete process.env.FAKE_PODMAN_LOG
      delete process.env.FAKE_PODMAN_FAIL
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A minimal repository layout (config/, volumes/) for environment tests. */
export function makeRepo(envs: Record<string, string | null>): string {
  const root = tempDir('jh-slurm-repo-')
  for (const [name, devUsers] of Object.entries(envs)) {
    fs.mkdirSync(path.join(root, 'config', name), { recursive: true })
    fs.mkdirSync(path.join(root, 'volumes', name, 'jupyterhub_root', 'etc'), { recursive: true })
    fs.mkdirSync(path.join(root, 'volumes', name, 'slurm_root'), { recursive: true })
    if (devUsers !== null) fs.writeFileSync(path.join(root, 'config', name, 'dev_users'), devUsers)
    fs.writeFileSync(
      path.join(root, 'config', name, 'launcher.yaml'),
      `hostPort: ${8000 + Object.keys(envs).indexOf(name)}\n`,
    )
  }
  return root
}

/** A stand-in key pair for rendering tests (never a real key). */
export const fakeKey = (n: string) => ({
  privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${n.toUpperCase()}SECRET\n-----END OPENSSH PRIVATE KEY-----\n`,
  publicKey: `ssh-ed25519 AAAA${n} comment`,
})
export const OPERATOR_KEY = fakeKey('operator')
export const OPERATOR_KNOWN_HOSTS = 'login.example ssh-ed25519 AAAAlogin\n'
/** What readNadirAccess would have read of an operator's files. */
export const OPERATOR_NADIR = { key: fakeKey('nadir'), serverAddress: 'nadir.example' }

/**
 * The manifest `npm run manifest -- <env>` renders from the environment's
 * committed settings, with stand-in keys (and the operator's files where the
 * environment's Slurm is elsewhere). Dev users: the file, else its example.
 */
export async function renderEnvironmentManifest(envName: string, deployConfigFile?: string, hostPort?: number) {
  const env = resolveEnvironment(envName, repo)
  const settings = {
    tag: defaultTag(env.target),
    registry: 'localhost',
    clusterFiles: {},
    deployConfig: deployConfigOverlay(deployConfigFile),
    hostPort,
  }
  const planned = await planRender(env, settings, repo, 'manifest')
  const { use } = planned
  const external = usesExternalSlurm(use)
  const tunnel = use.secrets.includes('nadirKey')
  // The operator's files stand in for what readClusterAccess and readNadirAccess would have read.
  const plan = {
    ...planned,
    ...(external && { cluster: { clientKey: OPERATOR_KEY, knownHosts: OPERATOR_KNOWN_HOSTS } }),
    ...(tunnel && { nadir: planned.nadir ?? OPERATOR_NADIR }),
    omitSecrets: [],
  }
  const text = renderManifest(
    manifestInput(plan, {
      keys: external ? { host: fakeKey('host') } : { client: fakeKey('client'), host: fakeKey('host') },
      devLoginPassword: use.secrets.includes('devLogin') ? 'pw' : undefined,
      mungeKey: use.secrets.includes('munge') ? 'MUNGEKEY' : undefined,
      proxyAuthToken: use.secrets.includes('proxyToken') ? 'PROXYTOKEN' : undefined,
    }),
  )
  const docs: any[] = YAML.parseAllDocuments(text).map((d) => d.toJS())
  return { env, use, docs }
}
