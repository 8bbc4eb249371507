/**
 * GET /jobs/{id}/losses pages: without parameters up to 10,000 points (then `next_cursor`
 * and a `Link` header), `limit` and `cursor` page through JSON and CSV alike.
 */
import t from 'tap'
import { testConfig } from '../helpers/config.js'
import { startServer } from '../helpers/server.js'

const POINTS = 10_001

t.test('losses paginate in JSON and CSV', async (t) => {
  const server = await startServer(t, { config: testConfig({ maxEventLoopDelayMs: 0 }) })
  const { storage } = server.app
  // Storage calls are awaited so they also hold for an asynchronous storage interface.
  const job = await storage.jobs.create({
    name: 'long-curve',
    spec: { model: { type: 'rnn', hidden_size: 8 }, data: { type: 'pairs', pairs: [{ input: 'ab', target: 'ba' }] }, training: { epochs: POINTS } },
    dataSummary: { type: 'pairs', pairs: 1, characters: 2 },
    epochs: POINTS,
  }, 1_000)
  await storage.losses.append(job.id, Array.from({ length: POINTS }, (_, i) => ({ epoch: i + 1, loss: 1 / (i + 1), at: 2_000 + i })))

  type Page = { job: string; losses: { epoch: number; loss: number }[]; next_cursor: string | null }
  const get = async (query: string) => {
    const response = await server.fetch(`/jobs/${job.id}/losses${query}`)
    t.equal(response.status, 200, `GET losses${query}`)
    return response
  }

  const first = await get('')
  const firstPage = (await first.json()) as Page
  t.equal(firstPage.losses.length, 10_000, 'without parameters: 10,000 points, as before pagination')
  t.same([firstPage.losses[0]!.epoch, firstPage.losses.at(-1)!.epoch], [1, 10_000], 'in epoch order from the first')
  t.type(firstPage.next_cursor, 'string', 'and a next_cursor beyond them')
  t.equal(first.headers.get('link'), `</jobs/${job.id}/losses?format=json&limit=10000&cursor=${firstPage.next_cursor}>; rel="next"`)

  const last = await get(`?cursor=${firstPage.next_cursor}`)
  const lastPage = (await last.json()) as Page
  t.same(lastPage.losses.map((p) => p.epoch), [10_001], 'the cursor continues after the last point')
  t.equal(lastPage.next_cursor, null, 'the last page has no next_cursor')
  t.equal(last.headers.get('link'), null, 'and no Link header')

  // Small pages cover every point exactly once.
  const epochs: number[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const page = (await (await get(`?limit=3000${cursor ? `&cursor=${cursor}` : ''}`)).json()) as Page
    epochs.push(...page.losses.map((p) => p.epoch))
    cursor = page.next_cursor
    pages++
  } while (cursor !== null)
  t.equal(pages, 4, '10,001 points in pages of 3,000')
  t.same(epochs, Array.from({ length: POINTS }, (_, i) => i + 1), 'each point once, in order')

  // CSV pages the same way; the next page is in the Link header.
  const csv = await get('?format=csv&limit=2')
  t.match(csv.headers.get('content-type'), /^text\/csv/)
  t.equal(await csv.text(), 'epoch,loss,val_loss,at,lr\n1,1,,1970-01-01T00:00:02.000Z,\n2,0.5,,1970-01-01T00:00:02.001Z,\n')
  const next = /^<([^>]+)>; rel="next"$/.exec(csv.headers.get('link') ?? '')
  t.ok(next, 'CSV has a Link to the next page')
  const csv2 = await server.fetch(next![1]!)
  t.equal(await csv2.text(), 'epoch,loss,val_loss,at,lr\n3,0.3333333333333333,,1970-01-01T00:00:02.002Z,\n4,0.25,,1970-01-01T00:00:02.003Z,\n')

  for (const [query, code] of [['?cursor=abc', 'invalid_cursor'], ['?limit=10001', 'validation_failed'], ['?limit=0', 'validation_failed']] as const) {
    const response = await server.fetch(`/jobs/${job.id}/losses${query}`)
    t.equal(response.status, 400, `${query} is a 400`)
    t.equal(((await response.json()) as { code: string }).code, code)
  }
})
