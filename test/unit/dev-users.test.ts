import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { devUsersValue, parseDevUsers, readDevUsers } from '../../scripts/lib/dev-users.ts'
import { UserError } from '../../scripts/lib/errors.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { tempDir } from '../helpers.ts'

const rejects = (text: string, pattern: RegExp) => {
  try {
    parseDevUsers(text, 'dev_users')
  } catch (error) {
    assert.instance(error, UserError)
    assert.match((error as Error).message, pattern)
    assert.not.match((error as Error).message, /\n/)
    return
  }
  assert.unreachable(`accepted ${JSON.stringify(text)}`)
}

test('blank lines, comments, trailing space and CRLF are tolerated', () => {
  const users = parseDevUsers('# users\r\ntestuser.project1  \r\n\r\n   \ntestuser.project2\r\n')
  assert.equal(devUsersValue(users), 'testuser.project1 testuser.project2')
  assert.equal(users[0], { name: 'testuser.project1', user: 'testuser', project: 'project1' })
})

test('names that are not <USER>.<PROJECT> are refused with the line number', () => {
  rejects('testuser\n', /dev_users:1: "testuser" is not of the form <USER>\.<PROJECT>/)
  rejects('ok.p1\na.b.c\n', /dev_users:2: .*not of the form/)
})

test('names useradd would refuse or a shell would interpret are refused', () => {
  for (const bad of [
    'Test.project1',
    '1user.project',
    'user.pro ject',
    'u$(id).p',
    'u;rm.p',
    "u'.p",
    'u.p/x',
    '-u.p',
    'ü.p',
  ]) {
    rejects(`${bad}\n`, /not (a valid user name|of the form)/)
  }
})

test('names longer than useradd allows are refused', () => {
  rejects(`${'a'.repeat(20)}.${'b'.repeat(12)}\n`, /longer than 32/)
  assert.is(parseDevUsers(`${'a'.repeat(20)}.${'b'.repeat(11)}\n`).length, 1)
})

test('duplicates and empty files are refused', () => {
  rejects('a.b\nc.d\na.b\n', /dev_users:3: "a.b" repeats line 1/)
  rejects('', /lists no users/)
  rejects('# only a comment\n\n', /lists no users/)
})

test('a missing file points at the example; an unreadable one says so', () => {
  const dir = tempDir()
  const file = path.join(dir, 'dev_users')
  fs.writeFileSync(`${file}.example`, 'a.b\n')
  assert.throws(() => readDevUsers(file, repoPaths(dir)), /dev_users not found \(copy dev_users.example to start\)/)
  fs.mkdirSync(file)
  assert.throws(() => readDevUsers(file, repoPaths(dir)), /cannot read dev_users: it is a directory/)
  fs.rmSync(dir, { recursive: true })
})

test.run()
