// What a user of the hub and of JupyterLab does and sees, shared by the
// suites and benchmarks that log in and spawn.
import fs from 'node:fs'
import type { Page } from 'playwright-core'
import { repoPaths } from '../../../scripts/lib/paths.ts'
import { formAction, formXsrf, HubClient, type Response } from './browserless.ts'
import { waitFor } from './run.ts'

/** The spawn form as a user fills it: project1, one hour, `ngpus` of the GPUs it offers (1 to 4). */
export const spawnForm = (ngpus = '1'): Record<string, string> => ({
  brics_project: 'project1.brics',
  runtime: '01:00:00',
  ngpus,
  partition: '',
  reservation: '',
})

/** Logs in at the dummy login of `envName` with the password its `up` wrote; returns the page it leads to. */
export async function devLogin(client: HubClient, envName: string): Promise<Response> {
  const page = await client.request('jupyter/hub/login')
  const password = fs.readFileSync(repoPaths().devLoginPasswordFile(envName), 'utf8').trim()
  return client.request('jupyter/hub/login', { form: { _xsrf: formXsrf(page.body), password } })
}

/** The development issuer's login form, where a browser without a session is sent. */
export const ISSUER_LOGIN_FORM = /\/oidc\/interaction\//

/**
 * Opens `home` (the hub under its baseUrl, behind the login front) without a
 * session and fills the issuer's login form as a person does; returns the
 * client and the page the login leads to.
 */
export async function issuerLogin(
  home: string,
  user: string,
  password: string,
): Promise<{ client: HubClient; page: Response }> {
  const client = new HubClient(home)
  const form = await client.request('')
  if (!ISSUER_LOGIN_FORM.test(new URL(form.url).pathname))
    throw new Error(`expected the issuer's login form at ${home}, got ${form.url}`)
  const page = await client.request(formAction(form.body), { form: { username: user, password } })
  return { client, page }
}

/**
 * The user's JupyterLab through the proxy under `prefix` (the hub's
 * baseUrl), as a browser opens it (the first time through the server's OAuth
 * with the hub); undefined while it does not answer.
 */
export async function labAnswers(client: HubClient, user: string, prefix = 'jupyter/'): Promise<Response | undefined> {
  const lab = `${prefix}user/${user}/lab`
  const r = await client.request(lab)
  return r.status === 200 && r.url.includes(`/${lab}`) ? r : undefined
}

/** Waits until the user's JupyterLab answers through the proxy under `prefix`. */
export function waitForLab(client: HubClient, user: string, prefix = 'jupyter/'): Promise<Response> {
  return waitFor('the notebook server', 420_000, () => labAnswers(client, user, prefix), 3000)
}

/**
 * Opens a notebook from the launcher, types `code` into its first cell, runs
 * it and returns the text of the output that contains `marker`.
 */
export async function runCell(page: Page, code: string, marker = 'RESULT'): Promise<string> {
  await page.click('.jp-LauncherCard[data-category="Notebook"]')
  await page.waitForSelector('.jp-NotebookPanel .jp-Cell .cm-content', { timeout: 60_000 })
  // A cell run before the kernel is connected can be lost: wait until the status bar says it is idle.
  await page
    .locator('#jp-main-statusbar')
    .getByText(/\|\s*Idle/)
    .waitFor({ timeout: 120_000 })
  await page.click('.jp-NotebookPanel .jp-Cell .cm-content')
  await page.keyboard.type(code)
  await page.keyboard.press('Shift+Enter')
  const result = await page.waitForSelector(`.jp-OutputArea-output:has-text("${marker}")`, { timeout: 120_000 })
  return (await result.textContent()) ?? ''
}
