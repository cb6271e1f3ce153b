#!/usr/bin/env node
// `node bin/python-tools.mjs <tool> [arguments]`: runs a Python tool (ruff,
// pytest) from .venv-tools/, a venv of this checkout that is made and filled
// on first use, with no terminal needed (npm test, CI). It holds the pins of
// requirements-tools.txt plus jupyterhub and batchspawner at the versions the
// hub image uses (brics_jupyterhub/build.args), which the tests of the hub
// configuration import. When the pins change, the venv is filled again.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const venv = path.join(root, '.venv-tools')
const bin = (name) => path.join(venv, 'bin', name)
const stamp = path.join(venv, 'jh-slurm-pod-requirements.txt')

function fail(message) {
  process.stderr.write(`error: ${message}\n`)
  process.exit(1)
}

/** KEY=VALUE lines of an args file. */
function buildArgs(file) {
  const args = new Map()
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim())
    if (match) args.set(match[1], match[2])
  }
  return args
}

/** Every requirement, one a line: the tools' pins, then the hub image's. */
function requirements() {
  const tools = fs
    .readFileSync(path.join(root, 'requirements-tools.txt'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
  const hub = buildArgs(path.join(root, 'brics_jupyterhub', 'build.args'))
  const jupyterhub = /^[^#]*\/jupyterhub:(\d[\w.]*)$/.exec(hub.get('BASE_IMAGE') ?? '')?.[1]
  const batchspawner = hub.get('BATCHSPAWNER_VERSION')
  if (!jupyterhub || !batchspawner)
    fail('brics_jupyterhub/build.args: no jupyterhub version in BASE_IMAGE or no BATCHSPAWNER_VERSION')
  return [...tools, `jupyterhub==${jupyterhub}`, `batchspawner==${batchspawner}`].map((r) => `${r}\n`).join('')
}

function run(command, args, what) {
  const result = spawnSync(command, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
  if (result.error) fail(`${what}: ${result.error.message}`)
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr)
    fail(`${what} failed (exit ${result.status})`)
  }
}

function ensureVenv() {
  const wanted = requirements()
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return
  if (!fs.existsSync(bin('python'))) {
    const python = process.env.PYTHON ?? 'python3'
    process.stderr.write(`python-tools: making ${path.relative(root, venv)}/ with ${python} (once)\n`)
    const made = spawnSync(python, ['-m', 'venv', venv], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
    if (made.error || made.status !== 0) {
      fs.rmSync(venv, { recursive: true, force: true })
      const why = made.error?.message ?? made.stderr.trim().split('\n').pop()
      fail(`${python} -m venv failed (${why}); on Debian or Ubuntu: apt-get install python3-venv`)
    }
  }
  process.stderr.write(`python-tools: installing ${wanted.trim().split('\n').join(' ')}\n`)
  const file = path.join(venv, 'requirements.txt')
  fs.writeFileSync(file, wanted)
  run(bin('python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '-r', file], 'pip install')
  fs.writeFileSync(stamp, wanted)
}

const [tool, ...args] = process.argv.slice(2)
if (!tool) fail('usage: node bin/python-tools.mjs <tool> [arguments]  (ruff, pytest, python)')
ensureVenv()
// No __pycache__ beside the hub configuration: volumes/ is copied into the hub's volume as it is.
const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1' }
const result = spawnSync(bin(tool), args, { stdio: 'inherit', cwd: root, env })
if (result.error) fail(`${tool}: ${result.error.message}`)
process.exit(result.status ?? 1)
