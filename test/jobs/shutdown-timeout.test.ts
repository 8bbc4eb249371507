/**
 * A shutdown that runs out of time (SHUTDOWN_TIMEOUT_MS) still leaves the queue consistent:
 * the job whose step outlasts the timeout goes back to the queue without using an attempt.
 */
import path from 'node:path'
import t from 'tap'
import { JobsClient } from '../helpers/jobs-client.js'
import { startMain } from '../helpers/process.js'
import { readJobStates } from '../helpers/service-db.js'

t.test('SIGTERM with a step longer than SHUTDOWN_TIMEOUT_MS: requeued at the timeout, exit 1', async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  // The JavaScript kernels in float64 (the slowest engine) keep one step well beyond the timeout.
  const env = { DATABASE_PATH: dbPath, WORKERS: '1', SHUTDOWN_TIMEOUT_MS: '300', LEASE_TTL_MS: '60000', HEARTBEAT_MS: '1000', KERNELS: 'js' }
  const service = await startMain(t, { env })
  const client = new JobsClient(service.url)
  // One training step of a wide LSTM over long windows takes seconds: the worker cannot
  // reach a step boundary within the 300 ms the shutdown allows.
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(200)
  const response = await fetch(`${service.url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'slow-steps',
      model: { type: 'lstm', hidden_size: 384, dtype: 'float64' },
      data: { type: 'text', text, seq_len: 256 },
      training: { epochs: 5, batch_size: 32, checkpoint_every: 1 },
    }),
  })
  t.equal(response.status, 202)
  const job = (await response.json()) as { id: string }
  await client.waitForJobs([job.id], 'the job running', ([j]) => j.status === 'running')
  // "running" is set when the job is claimed; give the worker thread time to be inside its
  // first (multi-second) step, so the graceful path cannot finish before the timeout.
  await new Promise((resolve) => setTimeout(resolve, 2000))

  const signalled = Date.now()
  service.child.kill('SIGTERM')
  t.equal(await service.exited, 1, 'exits 1: the shutdown did not complete in time')
  t.ok(Date.now() - signalled < 10_000, 'and did not wait for the step to finish')
  t.ok(service.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('shutdown took longer than SHUTDOWN_TIMEOUT_MS=300')), 'logged the timeout')
  const state = readJobStates(dbPath).get(job.id)!
  t.equal(state.status, 'queued', 'the job is back in the queue')
  t.equal(state.leaseOwner, null, 'with no lease, so the next start claims it at once')
  t.equal(state.attempt, 0, 'without using up an attempt')
})
