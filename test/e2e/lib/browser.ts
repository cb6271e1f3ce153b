// A real browser for the suites that click through the hub as a person does:
// headless Chromium (CHROMIUM_PATH, else the distribution's), and what a
// person does at the development issuer's login form.
import { type Browser, chromium, type Page } from 'playwright-core'
import { ISSUER_LOGIN_FORM } from './jupyterlab.ts'

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  })
}

/** Fills the issuer's login form the page was sent to, and waits until the browser leaves it. */
export async function logInAtIssuer(page: Page, user: string, password: string): Promise<void> {
  await page.waitForURL(ISSUER_LOGIN_FORM)
  await page.fill('input[name="username"]', user)
  await page.fill('input[name="password"]', password)
  await Promise.all([
    page.waitForURL((url) => !ISSUER_LOGIN_FORM.test(url.pathname)),
    page.click('button[type="submit"]'),
  ])
}
