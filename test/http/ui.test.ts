/**
 * The web dashboard (/ui) in headless Chromium against a real server with real training
 * workers: submit a job from the form, watch its loss chart gain points while it trains and cancel it
 * (the page shows `cancelling` until the worker stops), submit another that trains to the end
 * and predict from its predict box, compare the two curves, and use the dashboard on a server that needs API keys.
 * Screenshots land in test-artifacts/ui/ (gitignored).
 */
import { join } from 'node:path'
import t from 'tap'
import { artifactsDir, chromiumMissing, openBrowser } from '../helpers/browser.js'
import { configFromEnv } from '../helpers/config.js'
import { startServer } from '../helpers/server.js'
import { testConfig } from '../helpers/config.js'

const skip = chromiumMissing()
const shots = skip ? '' : artifactsDir('ui')

/** The page's globals used by the callbacks that run in the browser (tests compile without the DOM library). */
declare const document: {
  querySelector(selector: string): { getAttribute(name: string): string | null } | null
  activeElement: { textContent: string | null } | null
}

interface JobJson { id: string; status: string; progress: { epoch: number; epochs: number } }

t.test('/ and /ui serve the dashboard: public, hidden from the OpenAPI document, under a CSP', async (t) => {
  const server = await startServer(t, { config: configFromEnv({ API_KEYS: JSON.stringify({ 'k-admin-0123456789abcdef': ['admin'] }) }) })
  const root = await server.fetch('/', { redirect: 'manual' })
  t.equal(root.status, 302)
  t.equal(root.headers.get('location'), '/ui/')
  const bare = await server.fetch('/ui', { redirect: 'manual' })
  t.equal(bare.headers.get('location'), '/ui/', '/ui leads to /ui/')
  const page = await server.fetch('/ui/')
  t.equal(page.status, 200, 'the page needs no key')
  t.match(page.headers.get('content-type'), /^text\/html/)
  t.match(page.headers.get('content-security-policy'), /script-src 'self'/)
  t.match(await page.text(), '<script type="module" src="/ui/js/app.js">')
  for (const asset of ['/ui/js/app.js', '/ui/style.css', '/ui/vendor/uplot/uPlot.esm.js', '/ui/vendor/uplot/uPlot.min.css']) {
    t.equal((await server.fetch(asset)).status, 200, asset)
  }
  t.match((await server.fetch('/ui/js/app.js')).headers.get('content-type'), /javascript/)
  t.equal((await server.fetch('/ui/vendor/uplot/package.json')).status, 404, 'only the two uPlot files are served')
  t.equal((await server.fetch('/ui/../package.json')).status, 401, 'nothing outside the ui folder (an unknown URL needs a key first)')
  t.equal((await server.fetch('/jobs')).status, 401, 'the API itself still needs the key')
  const document = (await (await server.fetch('/openapi.json', {})).json()) as { paths: Record<string, unknown> }
  t.notOk(Object.keys(document.paths).some((p) => p === '/' || p.startsWith('/ui')), 'the dashboard files are not API operations')
})

t.test('submit from the form, watch the chart grow, predict, cancel another job, compare', { skip }, async (t) => {
  const server = await startServer(t, { config: testConfig({ workers: 2 }), training: true })
  const { page, problems } = await openBrowser(t)
  page.setDefaultTimeout(120_000)
  await page.goto(`${server.baseUrl}/`)
  t.equal(new URL(page.url()).pathname, '/ui/', '/ redirected to the dashboard')
  await page.getByText('No jobs yet').waitFor()

  // Submit from the form: the text template, with epochs enough to train until cancelled.
  await page.getByRole('link', { name: 'New job' }).first().click()
  await page.getByLabel('Task template').selectOption('text')
  t.equal(await page.getByLabel('Name').inputValue(), 'poet', 'the template filled the form')
  await page.getByLabel('Layers').fill('2')
  await page.getByLabel('Epochs').fill('100000')
  await page.getByRole('button', { name: 'Submit job' }).click()
  await page.waitForURL(/#\/jobs\//)
  const poet = page.url().split('#/jobs/')[1]
  const chart = page.locator('#loss-chart')

  // The chart gains points while the job trains, without a reload.
  await page.waitForFunction(() => Number(document.querySelector('#loss-chart')?.getAttribute('data-points')) > 0)
  const first = Number(await chart.getAttribute('data-points'))
  await page.waitForFunction((n) => Number(document.querySelector('#loss-chart')?.getAttribute('data-points')) > n, first)
  t.pass(`the chart drew ${first} epochs, then more arrived while it trained`)
  await page.locator('#model-card pre').waitFor()
  t.match(await page.locator('#model-card').textContent(), '"task": "text"', 'the model card, once the first checkpoint is stored')
  t.match(await page.locator('#job-config').textContent(), '"epochs": 100000', 'the configuration')
  t.match(await page.locator('#job-config').textContent(), '"num_layers": 2', 'as the form set it')

  // Metric selector and log scale redraw the chart, which keeps growing.
  await page.getByLabel('Metric').selectOption('perplexity')
  await page.getByLabel('Log scale').check()
  t.match(await chart.textContent(), 'train perplexity', 'the legend names the metric')
  const drawn = Number(await chart.getAttribute('data-points'))
  await page.waitForFunction((n) => Number(document.querySelector('#loss-chart')?.getAttribute('data-points')) > n, drawn)
  t.equal(await page.locator('#lr-chart').getAttribute('data-points') !== null, true, 'the learning-rate curve is drawn too')
  await page.screenshot({ path: join(shots, 'job-training.png'), fullPage: true })

  // Cancel it: the page shows `cancelling` until the worker stops, then `cancelled`.
  // Every text the status badge shows from here on:
  await page.evaluate(`{
    const el = document.querySelector('#job-status')
    window.statuses = []
    new MutationObserver(() => window.statuses.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true })
  }`)
  await page.getByRole('button', { name: 'Cancel job' }).click()
  await page.locator('#job-status', { hasText: 'cancelled' }).waitFor()
  const statuses = await page.evaluate('window.statuses') as string[]
  t.same(statuses, ['cancelling', 'cancelled'], 'cancelling until the worker stopped, then cancelled')
  t.ok(await page.getByRole('button', { name: 'Cancel job' }).isDisabled(), 'the button is disabled once cancelled')
  t.equal(((await (await server.fetch(`/jobs/${poet}`)).json()) as JobJson).status, 'cancelled', 'the service agrees')

  // Another job from the form (the pairs template) trains to the end: every epoch is drawn,
  // and the predict box answers as GET /predict does.
  await page.getByRole('link', { name: 'New job' }).first().click()
  await page.getByLabel('Task template').selectOption('pairs')
  await page.getByRole('button', { name: 'Submit job' }).click()
  await page.waitForURL((url) => url.hash.startsWith('#/jobs/') && !url.hash.endsWith(poet))
  const greeter = page.url().split('#/jobs/')[1]
  await page.locator('#job-status', { hasText: 'succeeded' }).waitFor()
  await page.waitForFunction(() => document.querySelector('#loss-chart')?.getAttribute('data-points') === '200')
  const losses = (await (await server.fetch(`/jobs/${greeter}/losses`)).json()) as { losses: { epoch: number }[] }
  t.equal(losses.losses.length, 200, 'the chart holds every stored epoch')
  t.equal(await page.locator('#lr-chart').getAttribute('data-points'), '200', 'and the learning-rate curve too')
  await page.getByLabel('Input', { exact: true }).fill('hello')
  await page.getByRole('button', { name: 'Predict' }).click()
  const predicted = await page.locator('#predict-result').textContent()
  const direct = (await (await server.fetch(`/predict?job=${greeter}&input=hello`)).json()) as { output: string }
  t.equal(predicted, direct.output, `the box shows the model's output (${JSON.stringify(predicted)})`)
  await page.screenshot({ path: join(shots, 'job-page.png'), fullPage: true })

  // The jobs table lists both; pick both and compare their curves.
  await page.goto(`${server.baseUrl}/ui/#/`)
  const row = page.locator(`tr[data-job="${greeter}"][data-status="succeeded"]`)
  await row.waitFor()
  t.match(await row.textContent(), 'pairs', 'task column')
  t.match(await page.locator(`tr[data-job="${poet}"]`).textContent(), 'cancelled')
  await page.screenshot({ path: join(shots, 'jobs.png'), fullPage: true })
  await page.getByRole('checkbox', { name: new RegExp(`Compare poet \\(${poet.slice(0, 8)}\\)`) }).check()
  await page.getByRole('checkbox', { name: new RegExp(`Compare greeter \\(${greeter.slice(0, 8)}\\)`) }).check()
  await page.getByRole('link', { name: 'Compare selected (2)' }).click()
  await page.waitForFunction(() => document.querySelector('#compare-chart')?.getAttribute('data-series') === '2')
  const poetEpochs = ((await (await server.fetch(`/jobs/${poet}`)).json()) as JobJson).progress.epoch
  t.equal(await page.locator('#compare-chart').getAttribute('data-points'), String(Math.max(poetEpochs, 200)), 'one epoch axis for both jobs')
  await page.screenshot({ path: join(shots, 'compare.png'), fullPage: true })

  t.same(problems, [], 'no console error and no CSP violation')
})

t.test('keyboard: the skip link, the navigation and the form work without a mouse', { skip }, async (t) => {
  const server = await startServer(t)
  const { page, problems } = await openBrowser(t)
  await page.goto(`${server.baseUrl}/ui/`)
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content', 'the first Tab reaches the skip link')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  await page.keyboard.press('Tab')
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'New job')
  await page.keyboard.press('Enter')
  await page.locator('#submit-form').waitFor()
  const unlabelled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea')]
    .filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.id)`)
  t.same(unlabelled, [], 'every field has a label')
  t.same(problems, [])
})

t.test('with API keys: the page loads without one, says what is missing, and works once a key is entered', { skip }, async (t) => {
  const key = 'k-reader-0123456789abcdef'
  const server = await startServer(t, { config: configFromEnv({ API_KEYS: JSON.stringify({ [key]: ['jobs:read'] }) }) })
  const { page } = await openBrowser(t)
  await page.goto(`${server.baseUrl}/ui/`)
  await page.getByRole('alert').filter({ hasText: 'An API key is required' }).waitFor()
  await page.getByLabel('API key').fill(key)
  await page.getByRole('button', { name: 'Use key' }).click()
  await page.getByText('No jobs yet').waitFor()
  t.equal(await page.evaluate("sessionStorage.getItem('seqserve.apiKey')"), key, 'the key is kept in sessionStorage (this tab only)')
  await page.reload()
  await page.getByText('No jobs yet').waitFor()
  t.pass('and survives a reload of the tab')
})
