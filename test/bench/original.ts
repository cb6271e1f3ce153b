// The original launcher, run as it is: brics_jupyterhub_envs at seed-8d7d902
// (the bash jh_slurm_pod.sh this project replaces), cloned from its bundle
// into a scratch folder with its two Containerfiles swapped for the
// benchmark's trivial ones and its host port moved. Its code is run, never
// copied into the project.
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { UserError } from '../../scripts/lib/errors.ts'
import { originalLauncherBundle } from '../e2e/lib/upstream.ts'
import { type Timed, timed } from './timed.ts'

export const ORIGINAL_REF = 'seed-8d7d902'
/** Where its hub is published: moved from its 8000 (dev_dummyauth's), so that it never meets a developer's environment. */
export const ORIGINAL_PORT = 9100

export interface Original {
  up(): Promise<Timed>
  down(): Promise<Timed>
  /** Its clone. */
  dir: string
}

const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`

/**
 * It calls `podman` by name, with paths relative to its folder; the podman the
 * project is given may start elsewhere (the provisioned one starts in /). So a
 * `podman` first on its PATH runs the project's podman with those paths made
 * absolute. Shell, not node: a node start per call would slow the original.
 */
function podmanWrapper(binDir: string, podman: string[]): void {
  fs.mkdirSync(binDir, { recursive: true })
  const script = [
    '#!/bin/sh',
    '# Written by the benchmark: the project podman, paths made absolute.',
    'for a do shift; case $a in /*|-*) ;; *) [ -e "$a" ] && a="$PWD/$a" ;; esac; set -- "$@" "$a"; done',
    // The project's podman command may look podman up on PATH: not this one again.
    `PATH=${quote(process.env.PATH ?? '')} exec ${podman.map(quote).join(' ')} "$@"`,
    '',
  ].join('\n')
  fs.writeFileSync(path.join(binDir, 'podman'), script, { mode: 0o755 })
}

/** Clones the original into `dir` (replacing what is there) and readies it to run on the trivial images. */
export function prepareOriginal(dir: string, podman: string[], trivialImages: string): Original {
  const found = originalLauncherBundle()
  if ('missing' in found) throw new UserError(found.missing)
  fs.rmSync(dir, { recursive: true, force: true })
  execFileSync('git', ['clone', '--quiet', '--branch', ORIGINAL_REF, found.bundle, dir], { stdio: 'ignore' })
  for (const [image, trivial, clone] of [
    ['brics_jupyterhub', 'hub', 'bricsauthenticator'],
    ['brics_slurm', 'slurm', 'slurmspawner_wrappers'],
  ] as const) {
    fs.copyFileSync(path.join(trivialImages, trivial, 'Containerfile'), path.join(dir, image, 'Containerfile'))
    // Present clones: it skips cloning from GitHub.
    fs.mkdirSync(path.join(dir, image, '_dev_build_data', clone), { recursive: true })
  }
  const pod = path.join(dir, 'jh_slurm_pod.yaml')
  const manifest = fs.readFileSync(pod, 'utf8')
  if (!/^\s*hostPort: 8000$/m.test(manifest)) throw new UserError(`${pod}: no hostPort: 8000 to move`)
  fs.writeFileSync(pod, manifest.replace(/^(\s*hostPort:) 8000$/m, `$1 ${ORIGINAL_PORT}`))
  const binDir = path.join(dir, '.bench-bin')
  podmanWrapper(binDir, podman)
  const env = { ...process.env, PATH: `${binDir}:${process.env.PATH}` }
  const run = (...args: string[]) => timed(['bash', 'jh_slurm_pod.sh', ...args], { cwd: dir, env })
  return { dir, up: () => run('up', 'dev_dummyauth'), down: () => run('down') }
}
