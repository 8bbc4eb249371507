/**
 * SIGTERM while a job is inside a training step far longer than SHUTDOWN_TIMEOUT_MS: the worker
 * polls the stop flag every time step, so the step is cut short and the graceful path completes
 * (exit 0) instead of running out of time; the job is back in the queue, unleased, no attempt used.
 * (Exact resumption after such a stop: runner-stop.test.ts.)
 */
import path from 'node:path'
import t from 'tap'
import { JobsClient } from '../helpers/jobs-client.js'
import { startMain } from '../helpers/process.js'
import { readJobStates } from '../helpers/service-db.js'

t.test('SIGTERM inside a step longer than SHUTDOWN_TIMEOUT_MS: the step is cut short, clean exit, job requeued', async (t) => {
  const dbPath = path.join(t.testdir({}), 'seqserve.db')
  // The JavaScript kernels in float64 (the slowest engine): one step of this job takes most of a
  // minute, several times the 10 s the shutdown allows. Finishing it would exit 1 at the timeout.
  const env = { DATABASE_PATH: dbPath, WORKERS: '1', SHUTDOWN_TIMEOUT_MS: '10000', LEASE_TTL_MS: '60000', HEARTBEAT_MS: '1000', KERNELS: 'js' }
  const service = await startMain(t, { env })
  const client = new JobsClient(service.url)
  const text = 'the quick brown fox jumps over the lazy dog. '.repeat(400)
  const response = await fetch(`${service.url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'slow-steps',
      model: { type: 'lstm', hidden_size: 640, dtype: 'float64' },
      data: { type: 'text', text, seq_len: 512 },
      training: { epochs: 5, batch_size: 32, checkpoint_every: 1 },
    }),
  })
  t.equal(response.status, 202)
  const job = (await response.json()) as { id: string }
  await client.waitForJobs([job.id], 'the job running', ([j]) => j.status === 'running')
  // "running" is set when the job is claimed; a moment later the worker is setting up (one step
  // on zeros) or inside its first step: either is cut short.
  await new Promise((resolve) => setTimeout(resolve, 2000))

  service.child.kill('SIGTERM')
  t.equal(await service.exited, 0, 'exits 0: the graceful shutdown completed, it did not wait for the step')
  t.ok(service.lines.some((l) => l.msg === 'shut down cleanly'), 'logged a clean shutdown')
  t.notOk(service.lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('shutdown took longer than SHUTDOWN_TIMEOUT_MS')), 'not the timeout')
  const state = readJobStates(dbPath).get(job.id)!
  t.equal(state.status, 'queued', 'the job is back in the queue')
  t.equal(state.leaseOwner, null, 'with no lease, so the next start claims it at once')
  t.equal(state.attempt, 0, 'without using up an attempt')
})
