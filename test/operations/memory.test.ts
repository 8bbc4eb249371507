/**
 * Memory returns near its baseline after large requests, on the real service (src/main.ts in
 * a child process) with real HTTP requests: a 50,000-character prompt grows a model's
 * working memory by far more than its weights, and the predictor drops those workspaces
 * after the request instead of keeping them while the model stays cached. RSS is read from
 * /proc (the kernel's count, not ours), with a generous bound and no timing.
 */
import fs from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { JobsClient, waitFor } from '../helpers/jobs-client.js'
import { startMain } from '../helpers/process.js'

const MIB = 1024 * 1024

/** Resident and peak resident bytes of a process, from /proc/<pid>/status. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024
  return { rss: kib('VmRSS'), peak: kib('VmHWM') }
}

const CORPUS = 'the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs. '

t.test('RSS returns near its baseline after requests of three 50,000-character prompts', { skip: process.platform === 'linux' ? undefined : 'reads /proc (Linux)' }, async (t) => {
  const service = await startMain(t, {
    env: {
      DATABASE_PATH: path.join(t.testdir({}), 'seqserve.db'),
      WORKERS: '1',
      PREDICT_WORKERS: '1',
      // The long prompts take seconds on a loaded machine: no deadline is under test here.
      PREDICT_TIMEOUT_MS: '300000',
      // A budget above the defaults, so one admitted request grows the working memory by
      // hundreds of MiB: the effect is far above the noise of RSS.
      PREDICT_MAX_COST: '3000000000',
      PREDICT_MAX_MEMORY_BYTES: String(1024 * MIB),
      // The deprecated count still works beside the byte budget, with a warning.
      MODEL_CACHE_SIZE: '4',
    },
    startTimeoutMs: 120_000,
  })
  const pid = service.child.pid!
  t.ok(service.lines.some((line) => line.level === 40 && /^MODEL_CACHE_SIZE is deprecated: the model cache is bounded by MODEL_CACHE_BYTES/.test(String(line.msg))), 'MODEL_CACHE_SIZE is deprecated with a warning')
  const client = new JobsClient(service.url)
  const job = await client.submit({
    name: 'wide',
    model: { type: 'lstm', hidden_size: 32, dtype: 'float64' },
    data: { type: 'text', text: CORPUS.repeat(4), seq_len: 16 },
    training: { epochs: 1 },
  } as never)
  await client.waitForJobs([job.id], 'the model to train', ([j]) => j.status === 'succeeded', 120_000)

  const predict = async (input: string, rows = 1) => {
    const response = await fetch(`${service.url}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'wide', inputs: Array(rows).fill(input), length: 1, seed: 1 }),
    })
    const text = await response.text()
    t.equal(response.status, 200, `${rows} x a ${input.length}-character prompt is answered${response.status === 200 ? '' : `: ${text}`}`)
  }
  // Warm: the model decoded and cached, the worker's code compiled.
  for (let i = 0; i < 3; i++) await predict(CORPUS.slice(0, 40))
  const baseline = memoryOf(pid)

  const long = CORPUS.repeat(Math.ceil(50_000 / CORPUS.length)).slice(0, 50_000)
  for (let i = 0; i < 2; i++) await predict(long, 3)
  await predict(CORPUS.slice(0, 40))
  const peak = memoryOf(pid).peak
  t.comment(`baseline RSS ${(baseline.rss / MIB).toFixed(0)} MiB, peak ${(peak / MIB).toFixed(0)} MiB`)
  t.ok(peak - baseline.rss > 128 * MIB, `the long prompts needed much more memory than the baseline (peak +${((peak - baseline.rss) / MIB).toFixed(0)} MiB)`)

  // Freed memory is returned when the garbage collector runs: wait for that, not for a time.
  const settled = await waitFor('RSS back near its baseline', async () => {
    await predict(CORPUS.slice(0, 40))
    const { rss } = memoryOf(pid)
    return rss - baseline.rss < 64 * MIB ? rss : undefined
  }, 60_000, () => `(RSS ${(memoryOf(pid).rss / MIB).toFixed(0)} MiB, baseline ${(baseline.rss / MIB).toFixed(0)} MiB)`, 500)
  t.comment(`RSS after: ${(settled / MIB).toFixed(0)} MiB`)
  t.pass('RSS is back within 64 MiB of its baseline')
})
