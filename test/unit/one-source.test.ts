// One source for each fact that crosses a language boundary: the ports inside
// the pod, the job output's name, the deploy settings' variables and their
// defaults live in the launcher's TypeScript (scripts/lib/pod-facts.ts,
// deploy-config.ts, dev-issuer.ts, names.ts) and reach the pod as variables.
// This test fails when a copy appears in the code that runs inside the pod
// (the hub configuration, the development login, the images' scripts) or in
// another TypeScript file.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import YAML from 'yaml'
import { DEV_ISSUER_LIFETIMES } from '../../scripts/lib/dev-issuer.ts'
import { DEFAULT_BASE_URL } from '../../scripts/lib/names.ts'
import { repoRoot } from '../../scripts/lib/paths.ts'
import { JOB_OUTPUT, POD_PORTS } from '../../scripts/lib/pod-facts.ts'

const files = (dir: string, pattern: RegExp): string[] =>
  fs.existsSync(path.join(repoRoot, dir))
    ? fs
        .readdirSync(path.join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => pattern.test(f) && !f.includes('node_modules') && !f.includes('_dev_build_data'))
        .map((f) => path.join(dir, f))
    : []

/** Code lines, without comment lines (a comment may name a value; code may not hold one). */
function codeLines(file: string): Array<[number, string]> {
  let inDocstring = false
  return fs
    .readFileSync(path.join(repoRoot, file), 'utf8')
    .split('\n')
    .flatMap((line, i): Array<[number, string]> => {
      const trimmed = line.trim()
      if (file.endsWith('.py') && trimmed.startsWith('"""')) {
        const closes = trimmed.length > 3 && trimmed.endsWith('"""')
        if (!closes) inDocstring = !inDocstring
        return []
      }
      if (inDocstring || /^(#|\/\/|\*|\/\*)/.test(trimmed)) return []
      return [[i + 1, line]]
    })
}

const inPod = [
  ...files('volumes', /\.py$/),
  ...files('brics_jupyterhub/dev-login', /\.mjs$/),
  ...files('brics_jupyterhub/container-scripts', /./),
  ...files('brics_slurm/container-scripts', /./),
]
const launcher = files('scripts', /\.ts$/).filter((f) => !f.includes('.compiled'))
const owners = new Set([
  'scripts/lib/pod-facts.ts',
  'scripts/lib/names.ts',
  'scripts/lib/dev-issuer.ts',
  'scripts/lib/deploy-config.ts',
])

const word = (value: string | number) =>
  new RegExp(`(^|[^\\w.])${String(value).replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}($|[^\\w])`)

function copies(list: string[], patterns: Array<[string, RegExp]>): string[] {
  return list.flatMap((file) =>
    codeLines(file).flatMap(([n, line]) =>
      patterns.flatMap(([what, pattern]) => (pattern.test(line) ? [`${file}:${n}: ${what}: ${line.trim()}`] : [])),
    ),
  )
}

const FACTS: Array<[string, RegExp]> = [
  ...Object.entries(POD_PORTS).map(([name, port]): [string, RegExp] => [`port ${name} (${port})`, word(port)]),
  ['the job output file', word(JOB_OUTPUT.split('%j')[0] as string)],
  ['the baseUrl default', new RegExp(`['"\`]${DEFAULT_BASE_URL}['"\`]`)],
  ['a DEPLOY_CONFIG_ variable by name', /DEPLOY_CONFIG_[A-Z]/],
  ['the session lifetime default', word(DEV_ISSUER_LIFETIMES.session)],
]

test("the code inside the pod holds none of the launcher's facts", () => {
  assert.ok(inPod.length > 10, `files looked at: ${inPod.length}`)
  // The Slurm image's own scripts read their deploy settings by variable (configure-gpus, ...): the ports only there.
  const pythonAndNode = inPod.filter((f) => /\.(py|mjs)$/.test(f))
  assert.equal(copies(pythonAndNode, FACTS), [])
  assert.equal(copies(inPod, FACTS.slice(0, Object.keys(POD_PORTS).length + 1)), [])
})

test('no other launcher file holds a copy either', () => {
  const others = launcher.filter((f) => !owners.has(f))
  assert.ok(others.length > 20, `files looked at: ${others.length}`)
  assert.equal(copies(others, FACTS), [])
})

test('the base pod publishes the proxy on the port the facts name, and the lists of the test do catch a copy', () => {
  const pod = YAML.parse(fs.readFileSync(path.join(repoRoot, 'jh_slurm_pod.yaml'), 'utf8'))
  const ports = pod.spec.containers.flatMap((c: { ports?: Array<{ containerPort: number }> }) => c.ports ?? [])
  assert.ok(ports.some((p: { containerPort: number }) => p.containerPort === POD_PORTS.proxy))
  // A copy is found where one is written.
  const probe = path.join('test-output', 'one-source-probe.py')
  fs.mkdirSync(path.join(repoRoot, 'test-output'), { recursive: true })
  fs.writeFileSync(
    path.join(repoRoot, probe),
    `# ${POD_PORTS.hubApi} in a comment is fine\nurl = "http://127.0.0.1:${POD_PORTS.hubApi}"\n`,
  )
  assert.equal(copies([probe], FACTS), [
    `${probe}:2: port hubApi (${POD_PORTS.hubApi}): url = "http://127.0.0.1:${POD_PORTS.hubApi}"`,
  ])
  fs.rmSync(path.join(repoRoot, probe))
})

test.run()
