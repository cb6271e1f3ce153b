// The hub's URL prefix (deploy setting baseUrl) and the GPU count (slurmGpusPerNode):
// checked when read, carried on the pod, and found again by status.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { type AppliedRecord, writeRecord } from '../../scripts/lib/applied.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { currentBaseUrl, describe } from '../../scripts/lib/status.ts'
import { tempDir } from '../helpers.ts'
import { baseUrlFromLabels, baseUrlLabel, baseUrlOf } from '../../scripts/lib/base-url.ts'
import { parseDeployConfig } from '../../scripts/lib/deploy-config.ts'
import { resourceNames } from '../../scripts/lib/names.ts'

test('baseUrl: a path of plain segments, a trailing slash added; anything else is a one-line error', () => {
  assert.is(baseUrlOf(parseDeployConfig('baseUrl: /jupyter\n', 'f.yaml')), '/jupyter/')
  assert.is(baseUrlOf(parseDeployConfig('baseUrl: /aip1/notebooks/\n', 'f.yaml')), '/aip1/notebooks/')
  assert.is(baseUrlOf(parseDeployConfig('baseUrl: /\n', 'f.yaml')), '/')
  assert.is(baseUrlOf(parseDeployConfig('logLevel: INFO\n', 'f.yaml')), '/jupyter/')
  for (const bad of ['jupyter/', '/a.b/', '//', '/a//b/', '/x y/', `/${'a'.repeat(64)}/`, '/-a/'])
    assert.throws(
      () => parseDeployConfig(`baseUrl: "${bad}"\n`, 'f.yaml'),
      (e: Error) => /^f\.yaml: baseUrl must be a path such as \/jupyter\//.test(e.message) && !e.message.includes('\n'),
      bad,
    )
})

test('slurmGpusPerNode: a whole number from 0 to 64', () => {
  assert.is(parseDeployConfig('slurmGpusPerNode: 0\n', 'f.yaml').get('slurmGpusPerNode'), '0')
  assert.is(parseDeployConfig('slurmGpusPerNode: "04"\n', 'f.yaml').get('slurmGpusPerNode'), '4')
  for (const bad of ['-1', '65', '2.5', 'four', ''])
    assert.throws(
      () => parseDeployConfig(`slurmGpusPerNode: "${bad}"\n`, 'f.yaml'),
      /^f\.yaml: slurmGpusPerNode must be a whole number from 0 to 64/,
      bad,
    )
})

test('the prefix survives the round trip through a pod label, and status prints it', () => {
  for (const base of ['/jupyter/', '/aip1/notebooks/', '/']) {
    const labels = baseUrlLabel(base)
    assert.match(Object.values(labels)[0] as string, /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/)
    assert.is(baseUrlFromLabels(labels), base)
  }
  assert.is(baseUrlFromLabels({}), '/jupyter/')
  const names = resourceNames('dev_dummyauth')
  const pod = { id: 'p1', name: names.pod, state: 'Running', labels: baseUrlLabel('/aip1/nb/'), containers: [] }
  const up = { names, pod, resources: [], hostPort: 8000, baseUrl: baseUrlFromLabels(pod.labels) }
  assert.is(describe(up).url, 'http://127.0.0.1:8000/aip1/nb/')
})

test('after an apply changed baseUrl, status says the applied prefix, not the stale label', () => {
  const repo = repoPaths(tempDir('jh-slurm-status-'))
  const names = resourceNames('dev_dummyauth')
  const pod = { id: 'p1', name: names.pod, state: 'Running', labels: baseUrlLabel('/jupyter/'), containers: [] }
  const up = { names, pod, resources: [], hostPort: 8000, baseUrl: baseUrlFromLabels(pod.labels) }
  assert.is(currentBaseUrl(repo, up), '/jupyter/', 'no record: the label')
  const record = (podId: string) =>
    ({ pod: podId, snapshot: { deployConfig: { baseUrl: '/hub/' } } }) as unknown as AppliedRecord
  writeRecord(repo, names.env, record('an-earlier-pod'))
  assert.is(currentBaseUrl(repo, up), '/jupyter/', "an earlier pod's record is not this pod's")
  writeRecord(repo, names.env, record('p1'))
  assert.is(currentBaseUrl(repo, up), '/hub/')
})

test.run()
