// End to end, on real podman, in a real browser: dev_realauth (its test copy) with its
// committed settings runs the development issuer and the login front in the
// pod, and the real BricsAuthenticator checks the tokens the front passes on.
// A person opens the URL, logs in at the issuer, picks a project the form
// offers, runs a notebook cell in the Slurm job, logs out; a user whose
// projects are all on another platform sees the 403 page; a session that ran
// out leads back to the login. Only the lifetimes are shortened, through the
// documented deploy settings, so that the test need not wait for hours.
import fs from 'node:fs'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerName } from '../../scripts/lib/names.ts'
import { repoPaths } from '../../scripts/lib/paths.ts'
import { launchBrowser, logInAtIssuer } from './lib/browser.ts'
import { formAction, selectOptions } from './lib/browserless.ts'
import { ISSUER_LOGIN_FORM, issuerLogin, runCell } from './lib/jupyterlab.ts'
import { inSlurm, npmRun, podmanOut, waitFor } from './lib/run.ts'
import { cleanAround, outputDir, ownUp, phase, upEnvironment, whenProvisioned } from './lib/setup.ts'
import { testEnvironment, testEnvironmentNames } from './lib/test-environments.ts'

const realauth = testEnvironment('dev_realauth')
const ENV = realauth.name
const URL_HOME = `${realauth.url}jupyter/`
/** Where the front serves the development issuer, as the hub is told. */
const ISSUER = `http://127.0.0.1:${realauth.hostPort}/oidc`
const { names } = realauth
const usersFile = realauth.devUsersFile
/** Seconds: the token is renewed several times during a spawn; the session outlives one login's work. */
const TOKEN_LIFETIME = 15
const SESSION_LIFETIME = 75
const lifetimes = () => `devIssuerTokenLifetime: "${TOKEN_LIFETIME}"\ndevIssuerSessionLifetime: "${SESSION_LIFETIME}"\n`

const password = () => fs.readFileSync(repoPaths().devLoginPasswordFile(ENV), 'utf8').trim()
const inRealauthSlurm = (command: string[]) => inSlurm(command, ENV)

/** What a person does at the issuer's login form. */
const logIn = (page: Page, user: string): Promise<void> => logInAtIssuer(page, user, password())

async function screenshotOnFailure<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (error) {
    await page.screenshot({ path: path.join(outputDir, `${name}-failure.png`) }).catch(() => undefined)
    throw error
  }
}

await whenProvisioned(() => {
  let savedUsers: string | undefined
  let browser: Browser

  cleanAround(testEnvironmentNames)
  test.before(async () => {
    fs.mkdirSync(outputDir, { recursive: true })
    if (fs.existsSync(usersFile)) savedUsers = fs.readFileSync(usersFile, 'utf8')
    // What the README tells a new user to do.
    fs.copyFileSync(`${usersFile}.example`, usersFile)
    browser = await launchBrowser()
  })

  test.after(async () => {
    await browser?.close()
    if (savedUsers === undefined) fs.rmSync(usersFile, { force: true })
    else fs.writeFileSync(usersFile, savedUsers)
  })

  test(`up ${ENV} with the committed issuer settings runs the issuer and the front in the pod`, async () => {
    const settings = path.join(outputDir, 'realauth-lifetimes.yaml')
    fs.writeFileSync(settings, lifetimes())
    const run = await phase(`up ${ENV} (dev issuer)`, () =>
      npmRun('up', [ENV], { env: { ...upEnvironment(), JH_SLURM_DEPLOY_CONFIG: settings } }),
    )
    assert.is(run.code, 0)
    assert.ok(run.output.includes(`Environment ${ENV} is up: ${URL_HOME}`), run.output)
    assert.match(run.output, /Dev login password \(development issuer/)
    const states = await podmanOut(['ps', '--filter', `pod=${names.pod}`, '--format', '{{.Names}} {{.State}}'])
    for (const container of ['jupyterhub', 'slurm', 'dev-issuer', 'login-front'])
      assert.match(states, new RegExp(`${names.pod}-${container} running`))
    // The hub fetched nothing yet; its issuer is the one the front serves.
    const env = await podmanOut(['exec', containerName(names, 'jupyterhub'), 'printenv', 'DEPLOY_CONFIG_OIDC_SERVER'])
    assert.is(env, ISSUER)
  })

  test('testuser logs in at the issuer, gets the platform projects only, and runs a cell in a Slurm job', async () => {
    const page = await browser.newPage()
    await screenshotOnFailure(page, 'realauth-spawn', async () => {
      await phase('realauth browser: log in at the issuer', async () => {
        await page.goto(URL_HOME)
        assert.match((await page.textContent('body')) ?? '', /Log in to dev_realauth/)
        await logIn(page, 'testuser')
        await page.waitForURL(/\/jupyter\/hub\/spawn/)
      })
      const offered = await page.$$eval('select[name="brics_project"] option', (options) =>
        options.map((o) => (o as HTMLOptionElement).value),
      )
      // project9 is in the token too, but only with a resource on another platform.
      assert.equal(offered.sort(), ['project1.brics', 'project2.brics'])
      await phase('realauth browser: start a server for project1', async () => {
        await page.selectOption('select[name="brics_project"]', 'project1.brics')
        await page.click('#spawn_form input[type="submit"], #spawn_form button[type="submit"]')
        await page.waitForURL(/\/jupyter\/user\/testuser\/lab/, { timeout: 420_000 })
        await page.waitForSelector('.jp-Launcher', { timeout: 120_000 })
      })
      const job = (await inRealauthSlurm(['squeue', '-h', '-u', 'testuser.project1', '-o', '%i'])).trim()
      assert.match(job, /^\d+$/, 'one job runs for testuser.project1')
      const output = await phase('realauth browser: notebook cell', () =>
        runCell(
          page,
          'import os, pwd; print("RESULT", pwd.getpwuid(os.getuid()).pw_name, os.environ.get("SLURM_JOB_ID"))',
        ),
      )
      await page.screenshot({ path: path.join(outputDir, 'realauth-jupyterlab.png') })
      assert.is(output.trim(), `RESULT testuser.project1 ${job}`)

      await phase('realauth browser: stop the server, log out', async () => {
        await page.goto(`${URL_HOME}hub/home`)
        await page.click('#stop')
        await waitFor('the job to end', 120_000, async () =>
          (await inRealauthSlurm(['squeue', '-h', '-u', 'testuser.project1'])) === '' ? true : undefined,
        )
        await page.click('#logout')
        await page.waitForURL(/\/jupyter\/hub\/(login|logout)|\/oidc\//)
      })
      // The next visit asks for the login again.
      await page.goto(URL_HOME)
      await page.waitForURL(ISSUER_LOGIN_FORM)
      assert.ok(await page.isVisible('input[name="password"]'))
      // What the issuer and the front said of it, as a user reads it when a login goes wrong.
      const logs = await npmRun('logs', [ENV, 'login'])
      assert.is(logs.code, 0)
      assert.match(logs.output, /-dev-issuer \S+ login: testuser$/m)
      assert.match(logs.output, /-login-front \S+ session opened: testuser, for \d+ s$/m)
      assert.match(logs.output, /-login-front \S+ session ended: testuser logged out$/m)
    })
    await page.close()
  })

  test('a user whose projects are all on another platform sees the 403 page', async () => {
    const page = await (await browser.newContext()).newPage()
    await screenshotOnFailure(page, 'realauth-403', async () => {
      const loginStatuses: number[] = []
      page.on('response', (r) => {
        if (new URL(r.url()).pathname === '/jupyter/hub/login') loginStatuses.push(r.status())
      })
      await page.goto(URL_HOME)
      await logIn(page, 'outsider')
      assert.equal(loginStatuses, [403], "the hub's login refused the token")
      const text = (await page.textContent('body')) ?? ''
      assert.match(text, /403/)
      assert.match(text, /No projects with valid platform/)
      assert.not.match(text, /Traceback/)
      await page.screenshot({ path: path.join(outputDir, 'realauth-403.png') })
    })
    await page.close()
  })

  test('apply with new issuer settings replaces issuer, front and hub; the hub still checks tokens', async () => {
    const settings = path.join(outputDir, 'realauth-apply.yaml')
    fs.writeFileSync(
      settings,
      `${lifetimes()}devIssuerOtherProjects: "testuser.project9 outsider.elsewhere newcomer.elsewhere"\n`,
    )
    const run = await phase(`apply ${ENV} (new issuer settings)`, () =>
      npmRun('apply', [ENV, '--deploy-config', settings], { env: upEnvironment() }),
    )
    assert.is(run.code, 0)
    assert.match(run.output, /Replace dev-issuer, login-front/)
    assert.match(run.output, /Replace the hub container \(deploy settings devIssuerOtherProjects/)
    const env = await podmanOut(['exec', containerName(names, 'jupyterhub'), 'printenv', 'DEPLOY_CONFIG_OIDC_SERVER'])
    assert.is(env, ISSUER)
    // The new user is known to the issuer, and the hub verifies the token it gets (403: no project on the platform).
    const page = await (await browser.newContext()).newPage()
    await page.goto(URL_HOME)
    await logIn(page, 'newcomer')
    assert.match((await page.textContent('body')) ?? '', /403[\s\S]*No projects with valid platform/)
    await page.close()
  })

  test('a client that only follows links and fills forms logs in and starts a server', async () => {
    const { client, page: spawn } = await issuerLogin(URL_HOME, 'otheruser', password())
    assert.match(spawn.url, /\/jupyter\/hub\/spawn$/)
    assert.equal(selectOptions(spawn.body, 'brics_project'), ['project1.brics'])
    await client.request(formAction(spawn.body), {
      form: { brics_project: 'project1.brics', runtime: '01:00:00', ngpus: '1', partition: '', reservation: '' },
    })
    const lab = await waitFor('the server through the front', 420_000, async () => {
      const r = await client.request('user/otheruser/lab')
      return r.status === 200 && r.url.includes('/jupyter/user/otheruser/lab') ? r : undefined
    })
    assert.match(lab.body, /JupyterLab/)
    assert.match(await inRealauthSlurm(['squeue', '-h', '-o', '%u']), /otheruser\.project1/)
    const stop = await client.api('hub/api/users/otheruser/server', 'DELETE')
    assert.ok([202, 204].includes(stop.status), `DELETE server answered ${stop.status}`)
    await waitFor('the job to end', 120_000, async () =>
      (await inRealauthSlurm(['squeue', '-h', '-u', 'otheruser.project1'])) === '' ? true : undefined,
    )
  })

  test('when the session runs out, the next page is the login again, not an error', async () => {
    const page = await (await browser.newContext()).newPage()
    await screenshotOnFailure(page, 'realauth-expiry', async () => {
      await page.goto(`${URL_HOME}hub/home`)
      await logIn(page, 'otheruser')
      await page.waitForURL(/\/jupyter\/hub\//)
      const loggedInAt = Date.now()
      // Tokens come and go meanwhile; a page within the session still works.
      await page.waitForTimeout((TOKEN_LIFETIME + 5) * 1000)
      const during = await page.goto(`${URL_HOME}hub/home`)
      assert.is(during?.status(), 200)
      assert.not.match(page.url(), ISSUER_LOGIN_FORM)
      await page.waitForTimeout(Math.max(0, loggedInAt + (SESSION_LIFETIME + 5) * 1000 - Date.now()))
      await phase('realauth browser: page after the session ended', () => page.goto(`${URL_HOME}hub/spawn`))
      await page.waitForURL(ISSUER_LOGIN_FORM)
      assert.ok(await page.isVisible('input[name="password"]'))
      assert.not.match((await page.textContent('body')) ?? '', /Traceback|500/)
      // And logging in again returns to the page asked for.
      await logIn(page, 'otheruser')
      await page.waitForURL(/\/jupyter\/hub\/spawn/)
    })
    await page.close()
  })

  test('down removes the environment, issuer and front included', async () => {
    const run = await npmRun('down', [ENV])
    assert.is(run.code, 0)
    assert.equal(await ownUp(), [])
  })
})

test.run()
