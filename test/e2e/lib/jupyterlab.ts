// What a user of JupyterLab does and sees, shared by the suites that spawn.
import type { Page } from 'playwright-core'
import type { HubClient, Response } from './browserless.ts'
import { waitFor } from './run.ts'

/** Waits until the user's JupyterLab answers through the proxy under `prefix` (the hub's baseUrl). */
export function waitForLab(client: HubClient, user: string, prefix = 'jupyter/'): Promise<Response> {
  const lab = `${prefix}user/${user}/lab`
  return waitFor(
    'the notebook server',
    420_000,
    async () => {
      const r = await client.request(lab)
      return r.status === 200 && r.url.includes(`/${lab}`) ? r : undefined
    },
    3000,
  )
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
