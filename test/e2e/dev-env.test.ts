// End to end, on real podman: upstream's `dev` environment (its test copy).
// The real login through the development issuer and the login front, Slurm
// in the pod; the token's groups reach the hub, so the admin role is
// testuser's and not otheruser's; the announcement set in the deploy
// settings is on the spawn page; a user spawns; logging out of the hub ends
// the front's and the issuer's sessions, so the next page is the issuer's
// login, not the hub.
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { formAction } from './lib/browserless.ts'
import { ISSUER_LOGIN_FORM, issuerLogin, labAnswers, spawnForm } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, waitFor } from './lib/run.ts'
import { cleanAround, outputDir, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { testEnvironment, testEnvironmentNames } from './lib/test-environments.ts'

const dev = testEnvironment('dev')
const HOME = `${dev.url}jupyter/`
const ANNOUNCEMENT = 'Planned maintenance (e2e): 2027-01-12 09:00-11:00 UTC'
const password = () => fs.readFileSync(repoPaths().devLoginPasswordFile(dev.name), 'utf8').trim()

/** Opens the hub and logs in at the issuer's form as `user`; returns the client and the page it lands on. */
const logIn = (user: string) => issuerLogin(HOME, user, password())

/** The href of the hub page's logout link, as a person clicks it. */
const logoutLink = (html: string): string => {
  const href = /<a[^>]*id="logout"[^>]*href="([^"]+)"|<a[^>]*href="([^"]+)"[^>]*id="logout"/.exec(html)
  assert.ok(href, 'the page has a logout link')
  return (href[1] ?? href[2]) as string
}

await whenProvisioned(() => {
  const usersFile = dev.devUsersFile

  cleanAround(testEnvironmentNames)
  test.before(() => {
    fs.mkdirSync(outputDir, { recursive: true })
    // What a new user of dev does, as for dev_realauth.
    fs.copyFileSync(`${usersFile}.example`, usersFile)
  })
  test.after(() => fs.rmSync(usersFile, { force: true }))

  test(`up ${dev.name} with an announcement in the deploy settings`, async () => {
    const settings = path.join(outputDir, 'dev-announcement.yaml')
    fs.writeFileSync(settings, `announcement: "<p>${ANNOUNCEMENT}</p>"\n`)
    const run = await phase(`up ${dev.name}`, () =>
      npmRun('up', [dev.name], { env: { ...upEnvironment(), JH_SLURM_DEPLOY_CONFIG: settings } }),
    )
    assert.is(run.code, 0, run.output)
    assert.ok(run.output.includes(`Environment ${dev.name} is up: ${HOME}`), run.output)
  })

  test("testuser's token puts them in brics-admins: the admin page is theirs, not otheruser's", async () => {
    const admin = await logIn('testuser')
    assert.match(admin.page.url, /\/jupyter\/hub\/spawn$/)
    const me = JSON.parse((await admin.client.api('hub/api/users/testuser')).body)
    assert.equal(me.groups, ['brics-admins'])
    const adminPage = await admin.client.request('hub/admin')
    assert.is(adminPage.status, 200)
    const listed = JSON.parse((await admin.client.api('hub/api/users')).body) as Array<{ name: string }>
    assert.ok(
      listed.some((u) => u.name === 'testuser'),
      'brics-admin may list users',
    )
    const other = await logIn('otheruser')
    assert.match(other.page.url, /\/jupyter\/hub\/spawn$/)
    const theirs = JSON.parse((await other.client.api('hub/api/users/otheruser')).body)
    assert.equal(theirs.groups, [])
    assert.is((await other.client.request('hub/admin')).status, 403)
    assert.is((await other.client.api('hub/api/users')).status, 403)
  })

  test('the announcement is on the spawn page; testuser spawns and stops', async () => {
    const { client, page } = await logIn('testuser')
    assert.match(page.url, /\/jupyter\/hub\/spawn$/)
    assert.ok(page.body.includes(ANNOUNCEMENT), 'the announcement on the spawn page')
    await client.request(formAction(page.body), { form: spawnForm() })
    await phase('dev: server ready', () =>
      waitFor('the server', 300_000, () => labAnswers(client, 'testuser', ''), 1000),
    )
    assert.match(await inSlurm(['squeue', '-h', '-o', '%u'], dev.name), /testuser\.project1/)
    const stop = await client.api('hub/api/users/testuser/server', 'DELETE')
    assert.ok([202, 204].includes(stop.status), `stop: ${stop.status}`)
    await waitFor('the job to end', 120_000, async () =>
      (await inSlurm(['squeue', '-h'], dev.name)) === '' ? true : undefined,
    )
  })

  test("logging out of the hub ends the front's and the issuer's sessions: the next page is the issuer's login", async () => {
    const { client } = await logIn('otheruser')
    const home = await client.request('hub/home')
    assert.is(home.status, 200)
    // A click on the page's logout link: a same-origin navigation.
    const out = await client.request(logoutLink(home.body), { headers: { 'sec-fetch-site': 'same-origin' } })
    assert.match(out.url, ISSUER_LOGIN_FORM, `after logout: ${out.url}`)
    const again = await client.request('hub/home', { headers: { 'sec-fetch-site': 'same-origin' } })
    assert.match(again.url, ISSUER_LOGIN_FORM, 'not back in the hub without a password')
    assert.match(again.body, /name="password"/)
  })

  test(`down ${dev.name}`, async () => {
    const run = await npmRun('down', [dev.name])
    assert.is(run.code, 0, run.output)
  })
})

test.run()
