// `npm run test:e2e [-- <pattern>]`: the end-to-end suites, guarded. The
// suites work on test environments of their own (lib/test-environments.ts);
// this proves they leave the user's alone. Before them, the repository's own
// dev_dummyauth is brought up the normal way (or, when it is up already, a
// developer's, only looked at: nothing of it is touched); its pod, volumes
// and, for one the guard made, a marker file in the hub's volume are
// recorded. After them, the same pod must still run with the same volumes
// and marker; otherwise the run fails, loudly. An environment the guard
// brought up it takes down again.
import { type StdioOptions, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { containerName, resourceNames } from '../../scripts/lib/names.ts'
import { ENVIRONMENTS_DIR_VARIABLE, repoRoot } from '../../scripts/lib/paths.ts'
import { podman } from '../../scripts/lib/podman.ts'
import { TEST_TAG } from './lib/test-environments.ts'
import { inCI, unavailable, upEnvironment } from './lib/setup.ts'

const ENV = 'dev_dummyauth'
const names = resourceNames(ENV)
const HUB_CONTAINER = containerName(names, 'jupyterhub')
const MARKER = '/srv/jupyterhub/e2e-guard-marker'

/** What the guard compares before and after the suites. */
interface Seen {
  /** The pod's ID and state; none when there is no pod. */
  pod?: string
  state?: string
  volumes: string[]
  marker?: string
}

const say = (line: string) => console.log(`[guard] ${line}`)
const loudly = (lines: string[]) =>
  console.error(`\n${'!'.repeat(72)}\n${lines.map((l) => `!! ${l}`).join('\n')}\n${'!'.repeat(72)}\n`)

// Ctrl-C reaches the command running (the terminal signals the whole group);
// the guard stays to check and to take down what it brought up.
process.on('SIGINT', () => say('SIGINT: the guard checks and cleans up once the command running has stopped'))

/**
 * Runs a command from the repository, output passed through; its exit code.
 * With `seen`, its standard output is also handed over chunk by chunk.
 */
function run(argv: string[], env: NodeJS.ProcessEnv = process.env, seen?: (chunk: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = seen ? ['inherit', 'pipe', 'inherit'] : 'inherit'
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: repoRoot, env, stdio })
    child.stdout?.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk)
      seen?.(chunk.toString())
    })
    const forward = () => child.kill('SIGTERM')
    process.on('SIGTERM', forward)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      process.off('SIGTERM', forward)
      resolve(code ?? (signal === 'SIGINT' ? 130 : 143))
    })
  })
}

/** The environment of the user's own commands: the checkout's environments, none of the tests' settings. */
function ownCommandsEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env }
  delete env[ENVIRONMENTS_DIR_VARIABLE]
  delete env.JH_SLURM_IMAGE_TAG
  return env
}

/** The environment's pod and volumes as podman has them now, and the marker when asked. */
async function look(withMarker: boolean): Promise<Seen> {
  const pod = await podman(['pod', 'inspect', '--format', '{{.ID}} {{.State}}', names.pod], { nothrow: true })
  const [id, state] = pod.exitCode === 0 ? pod.stdout.trim().split(/\s+/) : []
  const volumes = (
    await podman(['volume', 'ls', '--filter', `label=jh-slurm-pod/environment=${ENV}`, '--format', '{{.Name}}'])
  ).stdout
    .split('\n')
    .filter(Boolean)
    .sort()
  const marker = withMarker ? (await podman(['exec', HUB_CONTAINER, 'cat', MARKER])).stdout.trim() : undefined
  return { pod: id, state, volumes, marker }
}

/** Whether anything of the environment exists (a pod, a volume): then it is someone's, not the guard's to make. */
async function anyOfItExists(): Promise<boolean> {
  const [pod, volumes] = await Promise.all([
    podman(['pod', 'exists', names.pod], { nothrow: true }),
    podman(['volume', 'ls', '--filter', `label=jh-slurm-pod/environment=${ENV}`, '--format', '{{.Name}}']),
  ])
  return pod.exitCode === 0 || volumes.stdout.trim() !== ''
}

/** Brings the repository's dev_dummyauth up as a user does, with the settings the suites' `up` gets for what cannot be had here. */
async function bringUp(): Promise<Seen> {
  // Under the test tag, so that a developer's images under the usual tags stay as they are.
  const code = await run(['npm', 'run', '--silent', 'up', '--', ENV, '--tag', TEST_TAG], {
    ...ownCommandsEnv(),
    ...upEnvironment(),
  })
  if (code !== 0) throw new Error(`npm run up -- ${ENV} failed (exit ${code})`)
  const marker = randomUUID()
  await podman(['exec', HUB_CONTAINER, 'sh', '-c', `echo ${marker} > ${MARKER}`])
  const made = await look(true)
  if (made.marker !== marker) throw new Error(`the marker ${MARKER} could not be written into ${ENV}'s hub`)
  return made
}

/** What differs between the two records, one line each. */
function differences(before: Seen, after: Seen): string[] {
  const found: string[] = []
  if (before.pod && !after.pod) found.push(`the pod ${names.pod} is gone`)
  else if (before.pod && after.pod !== before.pod)
    found.push(`the pod ${names.pod} is another one (${before.pod} before, ${after.pod} now)`)
  else if (before.pod && after.state !== before.state)
    found.push(`the pod ${names.pod} is ${after.state}, it was ${before.state}`)
  const lost = before.volumes.filter((v) => !after.volumes.includes(v))
  if (lost.length) found.push(`volumes gone: ${lost.join(', ')}`)
  const made = after.volumes.filter((v) => !before.volumes.includes(v))
  if (made.length) found.push(`volumes made anew: ${made.join(', ')}`)
  if (before.marker !== undefined && after.marker !== before.marker)
    found.push(`the marker ${MARKER} in the hub's volume is ${after.marker ? 'changed' : 'gone'}`)
  return found
}

/** uvu's failure reports in the suites' output, colours taken out: the suite's file, the FAIL line, what follows up to the stack. */
function failureReports(output: string): string[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI colour codes
  const lines = output.replace(/\x1b\[[0-9;]*m/g, '').split('\n')
  const starts = lines.flatMap((line, i) => (/^\s+FAIL\s/.test(line) ? [i] : []))
  return starts.map((start) => {
    const file =
      lines
        .slice(0, start)
        .reverse()
        .find((line) => /\.test\.ts\s*$/.test(line)) ?? ''
    const rest = lines.slice(start + 1, start + 12)
    const stack = rest.findIndex((line) => /^\s+at\s/.test(line))
    const report = (stack < 0 ? rest : rest.slice(0, stack)).filter((line) => line.trim() !== '')
    return [`${file.trim()}:${lines[start]}`, ...report].join('\n')
  })
}

async function main(): Promise<number> {
  const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx')
  let output = ''
  const runSuites = () =>
    run([tsx, 'node_modules/uvu/bin.js', 'test/e2e', process.argv[2] ?? '.test.ts$'], process.env, (chunk) => {
      output += chunk
    })
  const code = await guarded(runSuites)
  // Repeated last, where a log cut to its end still shows which test failed and why.
  const reports = failureReports(output)
  if (reports.length) say(`failed, repeated from above:\n${reports.join('\n')}`)
  return code
}

/** Runs the suites between the guard's two looks at dev_dummyauth; the exit code. */
async function guarded(runSuites: () => Promise<number>): Promise<number> {
  const reason = await unavailable()
  if (reason) {
    // The suites skip (or, under CI=true, fail) and say why; the guard has nothing to guard.
    say(`not guarding: ${reason}`)
    const code = await runSuites()
    return code || (inCI ? 1 : 0)
  }

  const developers = await anyOfItExists()
  let before: Seen | undefined
  if (developers) {
    before = await look(false)
    const what = before.pod ? `pod ${before.pod}, ${before.state}` : `no pod; volumes ${before.volumes.join(', ')}`
    say(`${ENV} is there already (${what}): left alone, only looked at before and after the suites`)
  } else {
    say(`bringing up the repository's own ${ENV}, which the suites must leave alone`)
    before = await bringUp().catch((error: unknown) => {
      loudly([`the guard could not bring up ${ENV}: ${(error as Error).message}`])
      return undefined
    })
    if (!before) {
      await run(['npm', 'run', '--silent', 'down', '--', ENV], ownCommandsEnv())
      return 1
    }
    say(`${ENV}: pod ${before.pod}, volumes ${before.volumes.join(', ')}, marker ${MARKER}`)
  }

  let code = 1
  try {
    code = await runSuites()
  } finally {
    const after = await look(before.marker !== undefined).catch(() => look(false))
    const found = differences(before, after)
    if (found.length) {
      loudly([`THE END-TO-END SUITES TOUCHED ${ENV}, WHICH IS NOT THEIRS:`, ...found])
      code = code || 1
    } else
      say(
        `${ENV} is untouched: the same pod ${before.pod ?? '(none)'}, ${before.state ?? ''}; its volumes${before.marker ? ' and marker' : ''} in place`,
      )
    if (!developers) {
      const down = await run(['npm', 'run', '--silent', 'down', '--', ENV], ownCommandsEnv())
      if (down !== 0) {
        loudly([`the guard could not take ${ENV} down (exit ${down}); run \`jh-slurm-pod down ${ENV}\``])
        code = code || 1
      }
    }
  }
  return code
}

process.exitCode = await main().catch((error: unknown) => {
  loudly([`the guard failed: ${(error as Error).stack ?? error}`])
  return 1
})
