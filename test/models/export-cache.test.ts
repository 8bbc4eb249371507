import t from 'tap'
import { CHECKPOINT_FORMAT, encodeCheckpoint } from '../../src/engine/tasks/checkpoint.js'
import { ExportCache } from '../../src/models/export-cache.js'
import { ModelRegistry } from '../../src/models/registry.js'
import { JobNotFoundError, ModelsService } from '../../src/models/service.js'
import { leaseOwner } from '../../src/storage/types.js'
import type { TapTest } from '../helpers/server.js'
import { createJobs, tempStorage } from '../storage/helpers.js'
import { randomModel } from './helpers.js'

/**
 * Exports (card, safetensors, ONNX) of succeeded jobs are built once and then served from a
 * byte-bounded cache; anything that can still change (a running job's latest checkpoint) is
 * built on every request, and a deleted job is never served from the cache.
 */
t.test('the cache keeps the most recent entries within its byte budget', async (t) => {
  const cache = new ExportCache<string>(100)
  cache.set('a:1', 'A', 40)
  cache.set('b:1', 'B', 40)
  t.equal(cache.get('a:1'), 'A', 'a is now the most recent')
  cache.set('c:1', 'C', 40)
  t.same([cache.get('b:1'), cache.get('a:1'), cache.get('c:1')], [undefined, 'A', 'C'], 'the least recent (b) went')
  t.equal(cache.bytes, 80)
  cache.set('huge', 'H', 101)
  t.equal(cache.get('huge'), undefined, 'an entry over the whole budget is not kept')
  t.equal(cache.size, 2, 'and evicts nothing')
  cache.set('a:2', 'A2', 10)
  cache.deletePrefix('a:')
  t.same([cache.get('a:1'), cache.get('a:2'), cache.get('c:1')], [undefined, undefined, 'C'])
  t.equal(cache.bytes, 40)
})

async function setup(t: TapTest, cacheBytes?: number) {
  const { storage } = await tempStorage(t)
  let reads = 0
  const latest = storage.checkpoints.latest.bind(storage.checkpoints)
  storage.checkpoints.latest = async (jobId: string) => {
    reads++
    return latest(jobId)
  }
  const service = new ModelsService(storage, 'test', cacheBytes)
  const registry = new ModelRegistry(storage.models, (jobId) => storage.jobs.delete(jobId))
  const m = randomModel('classes', { type: 'gru', hidden_size: 6 }, 4)
  const version = await registry.importVersion('m', { ...m, card: {} }, 'json', 1)
  return { storage, service, m, jobId: version.jobId, reads: () => reads }
}

t.test('a succeeded job\'s exports are built once, and never served after it is deleted', async (t) => {
  const { storage, service, jobId, reads } = await setup(t)
  const first = await service.artifactsForJob(jobId)
  const again = await service.artifactsForJob(jobId)
  t.equal(reads(), 1, 'the checkpoint was read and decoded once')
  t.equal(again, first, 'the same card and file')
  const onnx = await service.onnxForJob(jobId, false)
  t.equal((await service.onnxForJob(jobId, false)).onnx, onnx.onnx, 'the ONNX file is built once')
  t.not((await service.onnxForJob(jobId, true)).onnx, onnx.onnx, 'with state=true it is another file')
  t.equal(reads(), 1)
  t.ok(service.cache.bytes > first.safetensors.byteLength)

  t.equal(await storage.jobs.delete(jobId), 'deleted')
  await t.rejects(service.artifactsForJob(jobId), JobNotFoundError, 'deleted: not found, though still cached')
  service.evict(jobId)
  t.equal(service.cache.size, 0, 'evict drops the card and both ONNX files')
})

t.test('EXPORT_CACHE_BYTES=0 builds every time; a running job\'s exports are never cached', async (t) => {
  const off = await setup(t, 0)
  await off.service.artifactsForJob(off.jobId)
  await off.service.artifactsForJob(off.jobId)
  t.equal(off.reads(), 2)

  const { storage, service, m, reads } = await setup(t)
  const [running] = await createJobs(storage, 1, () => ({ name: 'r' }))
  const owner = leaseOwner('node', 'inc')
  t.equal((await storage.jobs.claimNext(owner, 60_000, 10))?.id, running)
  const checkpoint = (epoch: number, shift: number) => ({
    epoch, isFinal: false, format: CHECKPOINT_FORMAT,
    blob: Buffer.from(encodeCheckpoint({
      meta: m.meta, model: m.model, params: m.params.map((v) => v + shift), dtype: 'float64', kernels: 'js', epoch, loss: 1, bestLoss: 1,
      elapsedMs: 0, rng: [], optimizer: { name: 'adam', step: 0, buffers: {} }, carry: [],
    })),
  })
  await storage.saveCheckpoint(running, owner, checkpoint(1, 0), 11)
  const early = await service.artifactsForJob(running)
  await storage.saveCheckpoint(running, owner, checkpoint(2, 0.5), 12)
  const later = await service.artifactsForJob(running)
  t.equal(reads(), 2)
  t.same([early.card.source.epoch, later.card.source.epoch], [1, 2], 'each request sees the newest checkpoint')
  t.not(later.card.weights.sha256, early.card.weights.sha256)
  t.equal(service.cache.size, 0)
})
