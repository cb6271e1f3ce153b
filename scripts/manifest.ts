// Step: render the combined manifest: the ConfigMaps of dev users and deploy
// settings, the Secrets (SSH keys, dev login password) and the fixed Pod document.
import crypto from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import YAML from 'yaml'
import { parseCommandLine } from './lib/cli.ts'
import { readDevUsers, devUsersValue, type DevUser } from './lib/dev-users.ts'
import { resolveEnvironment } from './lib/environment.ts'
import { UserError } from './lib/errors.ts'
import { runStep } from './lib/main.ts'
import { type DeployConfig, deployConfigData, resolveDeployConfig } from './lib/deploy-config.ts'
import { CONFIG_MAP, DEPLOY_CONFIG_MAP, DEV_USERS_KEY, SECRETS } from './lib/names.ts'
import { repoPaths, repoRoot } from './lib/paths.ts'
import { registerSecret } from './lib/redact.ts'
import { type EnvironmentKeys, generateEnvironmentKeys, type KeyPair } from './keygen.ts'

type Doc = Record<string, unknown>

const LOCALHOST = 'localhost,127.0.0.1,::1'

const configMap = (name: string, data: Record<string, string>): Doc => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  immutable: true,
  data,
})

export const configMapDoc = (users: DevUser[]): Doc => configMap(CONFIG_MAP, { [DEV_USERS_KEY]: devUsersValue(users) })

export const deployConfigDoc = (config: DeployConfig): Doc => configMap(DEPLOY_CONFIG_MAP, deployConfigData(config))

/** The four files each key Secret provides to the containers. */
export function keyFiles(pair: KeyPair): Record<string, string> {
  return {
    ssh_key: pair.privateKey,
    'ssh_key.pub': `${pair.publicKey}\n`,
    localhost_known_hosts: `${LOCALHOST} ${pair.publicKey}\n`,
    localhost_authorized_keys: `from="${LOCALHOST}" ${pair.publicKey}\n`,
  }
}

export function secretDoc(name: string, stringData: Record<string, string>): Doc {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name }, immutable: true, type: 'Opaque', stringData }
}

export const deployConfigOption = {
  type: 'string',
  value: 'FILE',
  env: 'JH_SLURM_DEPLOY_CONFIG',
  description: 'YAML file of deploy settings laid over config/<env>/deploy-config.yaml',
} as const

export function newDevLoginPassword(): string {
  const password = crypto.randomBytes(18).toString('base64url')
  registerSecret(password)
  return password
}

export async function readPodTemplate(file: string = repoPaths().podTemplate): Promise<Doc> {
  const doc = YAML.parse(await fs.readFile(file, 'utf8')) as Doc
  if (doc?.kind !== 'Pod') throw new UserError(`${file} does not hold a Pod document`)
  return doc
}

export interface ManifestInput {
  users: DevUser[]
  deployConfig: DeployConfig
  keys: EnvironmentKeys
  devLoginPassword: string
  pod: Doc
}

export function renderManifest({ users, deployConfig, keys, devLoginPassword, pod }: ManifestInput): string {
  const docs = [
    configMapDoc(users),
    deployConfigDoc(deployConfig),
    secretDoc(SECRETS.clientKey, keyFiles(keys.client)),
    secretDoc(SECRETS.hostKey, keyFiles(keys.host)),
    secretDoc(SECRETS.devLogin, { password: `${devLoginPassword}\n` }),
    pod,
  ]
  return docs.map((doc) => new YAML.Document(doc).toString({ lineWidth: 0 })).join('---\n')
}

/** Writes the manifest readable by its owner only, since it holds private keys. */
export async function writeManifest(file: string, text: string): Promise<void> {
  await fs.writeFile(file, text, { mode: 0o600 })
  await fs.chmod(file, 0o600)
}

export const cli = {
  command: 'manifest',
  summary:
    'Print the combined manifest of an environment (ConfigMaps, Secrets with fresh SSH keys and a fresh dev login password, Pod) on stdout. Needs no podman.',
  positionals: ['<env>'],
  options: {
    output: { type: 'string', short: 'o', value: 'FILE', description: 'write to FILE (mode 0600) instead of stdout' },
    'deploy-config': deployConfigOption,
  },
  notes: 'The output holds private keys: keep it out of logs and version control.',
} as const

runStep(import.meta.url, async () => {
  const { values, positionals } = parseCommandLine(cli)
  const env = resolveEnvironment(positionals[0])
  const users = readDevUsers(env.devUsersFile, repoRoot)
  const deployConfig = resolveDeployConfig(env.configDir, values['deploy-config'])
  const pod = await readPodTemplate()
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'jh_slurm_keys.'))
  try {
    const keys = await generateEnvironmentKeys(scratch)
    const text = renderManifest({ users, deployConfig, keys, devLoginPassword: newDevLoginPassword(), pod })
    if (values.output) {
      const file = path.resolve(values.output)
      await writeManifest(file, text)
      process.stderr.write(`wrote ${file} (holds private keys)\n`)
    } else {
      process.stdout.write(text)
    }
  } finally {
    await fs.rm(scratch, { recursive: true, force: true })
  }
})
