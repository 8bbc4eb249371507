/**
 * Submission fixes a job's kernel set by its working memory (src/engine/tasks/training-memory.ts):
 * a job that fits WebAssembly's 4 GiB names none (the worker's default), a job beyond it is
 * stored on the JavaScript kernels and shows so, and a job beyond MAX_TRAINING_MEMORY_BYTES is
 * refused with the numbers. The jobs here are accepted by the checkpoint limit: what passes
 * 4 GiB is the T x B workspaces (long sequences, many of them per batch), not the weights.
 */
import t from 'tap'
import { readError } from '../helpers/server.js'
import { startService, tempDir } from '../helpers/service.js'

const GIB = 2 ** 30
const dir = tempDir(t)

/** 600,000 characters cut into streams of 1024 steps: 512 streams per batch, about 9 GiB of float32 workspaces for an LSTM-256. */
const large = (model: Record<string, unknown> = {}) => ({
  model: { type: 'lstm', hidden_size: 256, ...model },
  data: { type: 'text', text: 'abcdefghij'.repeat(60_000), seq_len: 1024 },
  training: { epochs: 1, batch_size: 512 },
})

t.test('a job whose workspaces pass 4 GiB is stored on the js kernels; one that fits names none', async (t) => {
  const service = await startService(t, { dir, training: false, limits: { maxTrainingMemoryBytes: 64 * GIB } })
  const accepted = await service.postJson('/jobs', large())
  t.equal(accepted.status, 202)
  const { id } = await accepted.json() as { id: string }
  const { body } = await service.getJson<{ model: Record<string, unknown> }>(`/jobs/${id}`)
  t.equal(body.model.kernels, 'js', 'the job card shows the kernel set it will train on')

  const small = await service.postJson('/jobs', { ...large(), training: { epochs: 1, batch_size: 4 } })
  t.equal(small.status, 202)
  const smallJob = await service.getJson<{ model: Record<string, unknown> }>(`/jobs/${((await small.json()) as { id: string }).id}`)
  t.notOk('kernels' in smallJob.body.model, 'a job that fits keeps the default (recorded in its checkpoints when it starts)')

  const explicit = await readError(t, await service.postJson('/jobs', large({ kernels: 'wasm' })), { statusCode: 400, code: 'model_too_large', error: 'Bad Request' })
  t.match(explicit.message, /^body\/model: training needs about \d+ MiB of WebAssembly memory for batches of up to 512 sequences x 1024 steps, more than the 4032 MiB the wasm kernels can use/)
})

t.test('beyond MAX_TRAINING_MEMORY_BYTES the job is refused with its estimate and the limit', async (t) => {
  const service = await startService(t, { dir, training: false, limits: { maxTrainingMemoryBytes: 8 * GIB } })
  const refused = await readError(t, await service.postJson('/jobs', large({ hidden_size: 512 })), { statusCode: 400, code: 'model_too_large', error: 'Bad Request' })
  t.match(refused.message, /^body\/model: training needs about \d+ MiB of working memory for batches of up to 512 sequences x 1024 steps, more than the 8192 MiB a job may use \(MAX_TRAINING_MEMORY_BYTES\) and the 4032 MiB the wasm kernels can hold; lower training.batch_size/)
})
