/**
 * Submission refuses a model whose checkpoint could not be stored (400 model_too_large, with
 * the parameter count, the estimated size and the limit) and accepts one that fits. The
 * parameter counts are PyTorch's: `sum(p.numel() for p in model.parameters())` of the same
 * nn.LSTM + nn.Linear is 4 * H * (V + H) + 8 * H per layer (V = input size for the first,
 * H after it) plus the head's H * V + V.
 */
import t from 'tap'
import { readError } from '../helpers/server.js'
import { startService, tempDir } from '../helpers/service.js'

const dir = tempDir(t)
const text = 'abcdefghij'.repeat(20)

const lstm = (layers: number, optimizer = 'adam') => ({
  model: { type: 'lstm', hidden_size: 1024, num_layers: layers },
  data: { type: 'text', text, seq_len: 8 },
  training: { epochs: 1, optimizer },
})

/** PyTorch's count for an LSTM of `layers` x 1024 on a 10-character vocabulary with a Linear head. */
function torchCount(layers: number): number {
  const H = 1024, V = 10
  let n = 0
  for (let l = 0; l < layers; l++) n += 4 * H * ((l === 0 ? V : H) + H) + 8 * H
  return n + H * V + V
}

t.test('an LSTM 1024x4 is refused with its parameter count, checkpoint size and the limit; 1024x1 is accepted', async (t) => {
  const service = await startService(t, { dir, training: false })
  const refused = await readError(t, await service.postJson('/jobs', lstm(4)), { statusCode: 400, code: 'model_too_large', error: 'Bad Request' })
  t.match(refused.message, new RegExp(`^body/model has ${torchCount(4)} parameters: its checkpoint .* would take up to \\d+\\.\\d MiB, more than the 256\\.0 MiB .*MAX_CHECKPOINT_BYTES`))
  t.equal((await service.postJson('/jobs', lstm(2))).status, 400, '1024x2 with Adam (up to 4 copies of 13 M weights) does not fit either')
  t.equal((await service.postJson('/jobs', lstm(1))).status, 202, '1024x1 fits')
})

t.test('MAX_CHECKPOINT_BYTES sets the limit; plain SGD keeps less optimizer state', async (t) => {
  const service = await startService(t, { dir, training: false, limits: { maxCheckpointBytes: 120 * 1024 * 1024 } })
  const refused = await readError(t, await service.postJson('/jobs', lstm(1)), { statusCode: 400, code: 'model_too_large', error: 'Bad Request' })
  t.match(refused.message, /more than the 120\.0 MiB/)
  t.equal((await service.postJson('/jobs', lstm(1, 'sgd'))).status, 202, 'the same model with SGD (2 copies of the weights) fits')
})
