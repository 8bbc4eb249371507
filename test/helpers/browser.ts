/**
 * Headless Debian Chromium driven by playwright-core (never `playwright install`: the
 * browser comes from apt, installed by scripts/test-setup.sh when missing). Collects the
 * page's console errors and CSP violations so a test can assert there were none.
 */
import { accessSync, constants, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM_PATH = '/usr/bin/chromium'

export function chromiumMissing(): string | false {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK)
    return false
  } catch {
    return `${CHROMIUM_PATH} is not installed (apt-get install -y chromium)`
  }
}

/** Screenshots go here (gitignored): test-artifacts/<name>/. */
export function artifactsDir(name: string): string {
  const dir = fileURLToPath(new URL(`../../test-artifacts/${name}/`, import.meta.url))
  mkdirSync(dir, { recursive: true })
  return dir
}

export interface BrowserPage {
  browser: Browser
  page: Page
  /** Console errors and uncaught exceptions of the page, in order. */
  problems: string[]
}

export async function openBrowser(t: { teardown(fn: () => unknown): void }, viewport = { width: 1280, height: 900 }): Promise<BrowserPage> {
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--headless', '--no-sandbox', '--disable-gpu'] })
  t.teardown(() => browser.close())
  const page = await browser.newPage({ viewport })
  const problems: string[] = []
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text())
  })
  page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`))
  return { browser, page, problems }
}
