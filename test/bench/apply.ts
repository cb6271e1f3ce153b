// `npm run bench:apply -- [--rounds N]`
//
// Measures the edit loop against its targets (issues 16 and 25) and prints each
// figure beside its goal; asserts nothing and writes test-output/bench-apply.json.
//
// Brings up the test copy of dev_dummyauth (its own name, port and image tag:
// test/e2e/lib/test-environments.ts) with the real images (build settings
// from the environment, as `npm run up`), logs in, then times, from the start
// of `node bin/jh-slurm-pod.mjs apply <env>` (as `npm run apply` starts it):
// 1. an edit of the bricsauthenticator clone (the spawn form's label) until
//    the hub serves the form with the new label, N times;
// 2. with a notebook server started before, an edit of the hub
//    configuration (an announcement) until the hub's home page shows it,
//    N times, and whether the server still answers through the proxy after
//    each; then one more clone edit with the server running;
// 3. apply with nothing changed.
// The edits are undone and the environment is taken down at the end.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { devReposFor } from '../../scripts/lib/clones.ts'
import { helpText, parseCommandLine } from '../../scripts/lib/cli.ts'
import { runMain, UserError } from '../../scripts/lib/errors.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { pollUntil } from '../../scripts/lib/wait.ts'
import { formAction, HubClient } from '../e2e/lib/browserless.ts'
import { devLogin, labAnswers, spawnForm } from '../e2e/lib/jupyterlab.ts'
import { testEnvironment } from '../e2e/lib/test-environments.ts'
import { median } from './warm.ts'

const dummy = testEnvironment('dev_dummyauth')
const ENV = dummy.name
const HUB = dummy.url
const USER = 'testuser'
const FORM_FILE = path.join('src', 'bricsauthenticator', 'spawner_options_form.py')
const HUB_CONFIG = path.join(dummy.volumesDir, 'jupyterhub_root', 'etc', 'jupyterhub', 'jupyterhub_config.py')

const cli = {
  command: 'bench:apply',
  summary: 'Time apply: a clone edit and a hub configuration edit until the hub serves them, with a server running.',
  options: { rounds: { type: 'string', value: 'N', description: 'edits of each kind to time (default 5)' } },
} as const

interface Row {
  target: string
  figure: string
  goal: string
  met: boolean
}

const fmt = (xs: number[]) =>
  `${median(xs).toFixed(2)} s median of ${xs.length} (${Math.min(...xs).toFixed(2)} to ${Math.max(...xs).toFixed(2)})`

/** Runs a command as `npm run` does (node bin/jh-slurm-pod.mjs), without a terminal; fails on a non-zero exit. */
function step(args: string[]): void {
  const run = spawnSync(process.execPath, ['bin/jh-slurm-pod.mjs', ...args], { cwd: repoRoot, encoding: 'utf8' })
  if (run.status !== 0)
    throw new UserError(`${args.join(' ')} failed: ${`${run.stdout}${run.stderr}`.trim().split('\n').pop()}`)
}

/** Seconds from starting apply until `seen` holds. */
async function timeApply(seen: () => Promise<boolean>): Promise<number> {
  const start = performance.now()
  step(['apply', ENV])
  const { value } = await pollUntil(30_000, async () => ((await seen()) ? true : undefined), 50)
  if (!value) throw new UserError('the change did not show within 30 s of apply')
  return (performance.now() - start) / 1000
}

async function startServer(client: HubClient): Promise<void> {
  const form = await client.request('jupyter/hub/spawn')
  await client.request(formAction(form.body), { form: spawnForm() })
  const { value } = await pollUntil(120_000, async () => ((await answers(client)) ? true : undefined), 200)
  if (!value) throw new UserError('the notebook server did not start within 120 s')
}

const answers = async (client: HubClient): Promise<boolean> => Boolean(await labAnswers(client, USER))

function editForm(cloneDir: string, label: string): void {
  const file = path.join(cloneDir, FORM_FILE)
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(/Choose a project[^<]*:/, `${label}:`))
}

function announce(text: string, original: string): void {
  fs.writeFileSync(
    HUB_CONFIG,
    `${original}c = get_config()  # noqa: F821\nc.JupyterHub.template_vars = {"announcement": "${text}"}\n`,
  )
}

async function measure(client: HubClient, cloneDir: string, original: string, rounds: number) {
  const clone: number[] = []
  for (let i = 0; i < rounds; i++) {
    const label = `Choose a project (bench ${Date.now()})`
    editForm(cloneDir, label)
    clone.push(await timeApply(async () => (await client.request('jupyter/hub/spawn')).body.includes(label)))
    console.log(`  clone edit ${i + 1}: ${clone.at(-1)?.toFixed(2)} s`)
  }
  await startServer(client)
  const config: number[] = []
  const survived: boolean[] = []
  for (let i = 0; i < rounds; i++) {
    const text = `Bench announcement ${Date.now()}`
    announce(text, original)
    config.push(await timeApply(async () => (await client.request('jupyter/hub/home')).body.includes(text)))
    survived.push(
      (await pollUntil(30_000, async () => ((await answers(client)) ? true : undefined), 100)).value === true,
    )
    console.log(`  configuration edit ${i + 1}: ${config.at(-1)?.toFixed(2)} s; server answers: ${survived.at(-1)}`)
  }
  editForm(cloneDir, `Choose a project (bench ${Date.now()})`)
  // Its predicate is that the server answers: a clone edit applied with the server running.
  const withServer = await timeApply(
    async () => (await fetch(new URL('jupyter/hub/health', HUB))).ok && (await answers(client)),
  )
  const start = performance.now()
  step(['apply', ENV])
  const nothing = (performance.now() - start) / 1000
  return { clone, config, withServer, survived, nothing }
}

function report(m: Awaited<ReturnType<typeof measure>>): Row[] {
  return [
    {
      target: 'apply → hub serves a changed bricsauthenticator file',
      figure: fmt(m.clone),
      goal: '≤ 3 s',
      met: median(m.clone) <= 3,
    },
    {
      target: 'apply → hub serves a changed configuration',
      figure: fmt(m.config),
      goal: '≤ 3 s',
      met: median(m.config) <= 3,
    },
    {
      target: 'apply of a clone edit with a server running → hub and server answer',
      figure: `${m.withServer.toFixed(2)} s`,
      goal: '≤ 5 s',
      met: m.withServer <= 5,
    },
    {
      target: 'a server started before still answers through the proxy',
      figure: `${m.survived.filter(Boolean).length} of ${m.survived.length} applies`,
      goal: 'all',
      met: m.survived.every(Boolean),
    },
    { target: 'apply with nothing changed', figure: `${m.nothing.toFixed(2)} s`, goal: '< 1 s', met: m.nothing < 1 },
  ]
}

runMain(async () => {
  const { values, help } = parseCommandLine(cli, process.argv.slice(2))
  if (help) return void process.stdout.write(helpText(cli))
  const rounds = Math.max(1, Number(values.rounds ?? 5))
  const cloneDir = devReposFor(repoPaths()).find((r) => r.name === 'bricsauthenticator')?.dest as string
  const original = fs.readFileSync(HUB_CONFIG, 'utf8')
  const form = fs.readFileSync(path.join(cloneDir, FORM_FILE), 'utf8')
  console.log(`bringing up ${ENV} with the real images`)
  step(['up', ENV])
  try {
    const client = new HubClient(HUB)
    await devLogin(client, ENV)
    const rows = report(await measure(client, cloneDir, original, rounds))
    for (const r of rows) console.log(`${r.met ? 'met    ' : 'NOT MET'}  ${r.target}: ${r.figure} (goal ${r.goal})`)
    const out = path.join(repoRoot, 'test-output')
    fs.mkdirSync(out, { recursive: true })
    fs.writeFileSync(path.join(out, 'bench-apply.json'), `${JSON.stringify(rows, null, 2)}\n`)
  } finally {
    fs.writeFileSync(HUB_CONFIG, original)
    fs.writeFileSync(path.join(cloneDir, FORM_FILE), form)
    step(['down', ENV])
  }
})
