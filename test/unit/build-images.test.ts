import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { CA_BUNDLE_MOUNT, buildSettings, planImageBuild, podmanBuildArgs } from '../../scripts/lib/images.ts'
import { mergeBuildArgs, parseArgsFile } from '../../scripts/lib/build-args.ts'
import { repoPaths, repoRoot } from '../../scripts/lib/paths.ts'
import { noBuildOptions, tempDir } from '../helpers.ts'

const noOptions = noBuildOptions()

test('args files: KEY=VALUE lines, comments and blank lines, values taken literally', () => {
  const args = parseArgsFile('# c\n\nA=1\r\nB=x=y\nC=\n', 'f')
  assert.equal(
    [...args],
    [
      ['A', '1'],
      ['B', 'x=y'],
      ['C', ''],
    ],
  )
  assert.throws(() => parseArgsFile('oops\n', 'f'), /f:1: expected KEY=VALUE/)
})

test('overlays replace defaults; unknown keys are refused', () => {
  const merged = mergeBuildArgs(
    new Map([
      ['A', '1'],
      ['B', '2'],
    ]),
    [new Map([['B', '3']])],
    'img',
  )
  assert.equal(
    [...merged],
    [
      ['A', '1'],
      ['B', '3'],
    ],
  )
  assert.throws(
    () => mergeBuildArgs(new Map([['A', '1']]), [new Map([['Z', '1']])], 'img'),
    /unknown build argument Z for img \(known: A\)/,
  )
})

test('each image pins its base image and package sources in build.args', () => {
  for (const image of ['brics_jupyterhub', 'brics_slurm', 'nadir-client']) {
    const args = parseArgsFile(fs.readFileSync(path.join(repoRoot, image, 'build.args'), 'utf8'), image)
    assert.ok(args.get('BASE_IMAGE'), `${image} BASE_IMAGE`)
    assert.is(args.get('BUILD_CA_BUNDLE'), '')
  }
})

test('the pins: base images by tag, both BriCS packages by release tag', () => {
  const hub = parseArgsFile(fs.readFileSync(path.join(repoRoot, 'brics_jupyterhub', 'build.args'), 'utf8'), 'hub')
  const slurm = parseArgsFile(fs.readFileSync(path.join(repoRoot, 'brics_slurm', 'build.args'), 'utf8'), 'slurm')
  assert.is(hub.get('BASE_IMAGE'), 'quay.io/jupyterhub/jupyterhub:5.4.2')
  assert.is(hub.get('BRICSAUTHENTICATOR_REF'), 'v0.7.0')
  assert.is(hub.get('BRICSAUTHENTICATOR_REPO'), 'https://github.com/isambard-sc/bricsauthenticator.git')
  assert.is(slurm.get('BASE_IMAGE'), 'docker.io/nathanhess/slurm:full-root')
  assert.is(slurm.get('SLURMSPAWNER_WRAPPERS_REF'), 'v0.2.1')
  assert.is(slurm.get('SLURMSPAWNER_WRAPPERS_REPO'), 'https://github.com/isambard-sc/slurmspawner_wrappers.git')
})

test('the podman build line: Containerfile, target, tag, args, CA bundle, absolute context', () => {
  const dir = tempDir()
  const overlay = path.join(dir, 'site.args')
  fs.writeFileSync(overlay, 'BASE_IMAGE=localhost/site/jupyterhub:5.4.2\n')
  const settings = buildSettings({
    ...noOptions,
    target: 'stage-prod',
    tag: 'v1',
    registry: 'registry.example.org/brics',
    'hub-args-file': overlay,
    'hub-build-arg': ['BRICSAUTHENTICATOR_REF=v0.8.0'],
    'ca-bundle': overlay,
  })
  const build = planImageBuild('jupyterhub', settings, repoPaths())
  const argv = podmanBuildArgs(build)
  const context = path.join(repoRoot, 'brics_jupyterhub')
  assert.equal(argv.slice(0, 7), [
    'build',
    '--file',
    path.join(context, 'Containerfile'),
    '--target',
    'stage-prod',
    '--tag',
    'registry.example.org/brics/brics_jupyterhub:v1',
  ])
  assert.ok(argv.includes('BASE_IMAGE=localhost/site/jupyterhub:5.4.2'))
  assert.ok(argv.includes('BRICSAUTHENTICATOR_REF=v0.8.0'))
  assert.ok(argv.includes(`BUILD_CA_BUNDLE=${CA_BUNDLE_MOUNT}`))
  assert.ok(argv.includes(`${overlay}:${CA_BUNDLE_MOUNT}:ro`))
  assert.is(argv[argv.length - 1], context)
  fs.rmSync(dir, { recursive: true })
})

test('without a CA bundle nothing is mounted and the default is kept', () => {
  const argv = podmanBuildArgs(planImageBuild('slurm', buildSettings(noOptions), repoPaths()))
  assert.not.ok(argv.includes('--volume'))
  assert.ok(argv.includes('BUILD_CA_BUNDLE='))
  assert.ok(argv.includes('localhost/brics_slurm:dev-latest'))
  // Independent stages are built at once unless told otherwise.
  assert.equal(argv.slice(argv.indexOf('--jobs'), argv.indexOf('--jobs') + 2), ['--jobs', '2'])
})

test.run()
