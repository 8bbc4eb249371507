import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { resolveInitFrom } from '../../jobs/init-from.js'
import { SubmissionError, acceptSubmission } from '../../jobs/submission.js'
import { InvalidCursorError, QueueFullError, isStorageFault } from '../../storage/errors.js'
import { isFinishedStatus, type JobRecord, type JobSummary } from '../../storage/types.js'
import { httpError } from '../errors.js'
import { lossesCsv, presentJob, presentLoss, stoppedEarly } from '../presenters/job.js'
import { lossChartSvg, lossLabel } from '../presenters/loss-chart.js'
import { RESPONSE_HEADERS, contentResponse, errorResponses, jsonResponse, noContent } from '../schemas/common.js'
import {
  IdempotencyHeaders, JobIdParams, JobListResponse, JobRef, ListJobsQuery, LossesCsv, LossesQuery, LossesResponse, LossesSvg,
  MAX_LOSS_POINTS_PER_PAGE, StateDictResponse, createJobBody, storedDefaults,
} from '../schemas/jobs.js'
import { sendWeights, withRegistryErrors } from '../presenters/model-export.js'
import { WeightsQuery, weightsResponse } from '../schemas/models.js'

/**
 * For routes that take no body. Many clients send `Content-Type: application/json` on every
 * POST/DELETE; with nothing after it fastify's JSON parser would answer 400 "body is empty".
 * A request that carries no body has nothing to parse, so its content type is dropped.
 */
export async function ignoreContentTypeWithoutBody(request: FastifyRequest): Promise<void> {
  const headers = request.raw.headers
  const empty = headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0')
  if (empty) delete headers['content-type']
}

/** A losses cursor is the last epoch of the previous page. */
function parseLossCursor(cursor: string): number {
  if (!/^[0-9]{1,15}$/.test(cursor)) throw httpError('invalid_cursor', 'cursor is not a next_cursor value returned by GET /jobs/{id}/losses')
  return Number(cursor)
}

/** Jobs leave the queue at training speed; half a minute is a fair first back-off. */
const QUEUE_FULL_RETRY_AFTER_S = 30

const jobRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { limits } = app.config
  const { storage } = app
  const specDefaults = storedDefaults(limits)
  const present = async (job: JobRecord | JobSummary) => presentJob(job, await storage.checkpoints.latestMeta(job.id), specDefaults, app.runner?.storageWait(job.id))
  const findJob = async (id: string): Promise<JobRecord> => {
    const job = await storage.jobs.findById(id)
    if (!job) throw httpError('job_not_found', `No job with id ${id}`)
    return job
  }
  const max = app.config.maxQueuedJobs
  const queueFull = (queued: number, reply: FastifyReply) => {
    reply.header('retry-after', String(QUEUE_FULL_RETRY_AFTER_S))
    return httpError('queue_full', `The job queue is full (${queued} jobs queued, MAX_QUEUED_JOBS=${max}); retry later`, { queued, max_queued_jobs: max })
  }
  /** MAX_QUEUED_JOBS: a new job waits outside while the queue is full; a replay still gets its job. */
  const assertQueueHasRoom = async (idempotencyKey: string | undefined, reply: FastifyReply) => {
    if (idempotencyKey !== undefined && (await storage.jobs.findByIdempotencyKey(idempotencyKey))) return
    const queued = await storage.jobs.countQueued()
    if (queued >= max) throw queueFull(queued, reply)
  }

  app.post('/jobs', {
    config: { scope: 'jobs:write', rateLimitGroup: 'jobs' },
    schema: {
      operationId: 'createJob',
      summary: 'Submit a training job',
      description: 'Queues a job; a worker thread trains it. Poll `GET /jobs/{id}` (the Location header) until `status` is `succeeded`, then call `GET /predict?job={id}`.',
      tags: ['jobs'],
      headers: IdempotencyHeaders,
      body: createJobBody(limits),
      response: {
        202: jsonResponse('Queued (or, for a replayed Idempotency-Key, the existing job)', JobRef, {
          headers: { Location: RESPONSE_HEADERS.Location, 'Idempotent-Replayed': RESPONSE_HEADERS['Idempotent-Replayed'] },
        }),
        ...errorResponses(400, 404, 413, 415, 422, 503, 507),
      },
    },
  }, async (request, reply) => {
    // Checked before the submission is digested (a full queue is the cheapest answer), and
    // again atomically with the insert, so concurrent requests cannot overshoot the cap.
    await assertQueueHasRoom(request.headers['idempotency-key'], reply)
    const initFrom = request.body.training?.init_from
    const init = initFrom === undefined ? undefined : await withRegistryErrors(() => resolveInitFrom(initFrom, app.registry, storage))
    let submission
    try {
      submission = acceptSubmission(request.body as Parameters<typeof acceptSubmission>[0], limits, init)
    } catch (err) {
      if (err instanceof SubmissionError) throw httpError(err.code, err.message)
      throw err
    }
    const key = request.headers['idempotency-key'] ?? null
    let stored
    try {
      stored = await storage.jobs.createOrFind({
        name: submission.name, spec: submission.spec, dataSummary: submission.dataSummary,
        epochs: submission.spec.training.epochs, idempotencyKey: key, requestHash: submission.requestHash,
      }, Date.now(), { maxQueued: max })
    } catch (err) {
      if (err instanceof QueueFullError) throw queueFull(err.queued, reply)
      throw err
    }
    const { job, created } = stored
    if (!created && job.requestHash !== submission.requestHash) {
      throw httpError('idempotency_mismatch', `Idempotency-Key ${JSON.stringify(key)} was already used for job ${job.id} with a different request body`)
    }
    if (created) {
      request.log.info({ jobId: job.id, name: job.name }, 'job queued')
      app.runner?.wake()
      app.wakeups.notify(job.id)
    } else {
      reply.header('idempotent-replayed', 'true')
    }
    reply.code(202).header('location', `/jobs/${job.id}`)
    return present(job)
  })

  app.get('/jobs', {
    config: { scope: 'jobs:read' },
    schema: {
      operationId: 'listJobs',
      summary: 'List jobs, newest first',
      tags: ['jobs'],
      querystring: ListJobsQuery,
      response: { 200: jsonResponse('A page of jobs', JobListResponse), ...errorResponses(400) },
    },
  }, async (request) => {
    const { status, name, limit, cursor } = request.query
    try {
      const page = await storage.jobs.list({ status, name, limit, cursor })
      const checkpoints = await storage.checkpoints.latestMetaForJobs(page.items.map((job) => job.id))
      return { items: page.items.map((job) => presentJob(job, checkpoints.get(job.id), specDefaults, app.runner?.storageWait(job.id))), next_cursor: page.nextCursor }
    } catch (err) {
      if (err instanceof InvalidCursorError) throw httpError('invalid_cursor', 'cursor is not a next_cursor value returned by GET /jobs')
      throw err
    }
  })

  app.get('/jobs/:id', {
    config: { scope: 'jobs:read' },
    schema: {
      operationId: 'getJob',
      summary: 'Get a job: status, progress, losses so far, last checkpoint',
      tags: ['jobs'],
      params: JobIdParams,
      response: { 200: jsonResponse('The job', JobRef), ...errorResponses(404) },
    },
  }, async (request) => present(await findJob(request.params.id)))

  app.get('/jobs/:id/losses', {
    config: { scope: 'jobs:read' },
    schema: {
      operationId: 'getJobLosses',
      summary: 'Loss history: one point per finished epoch',
      description: `JSON by default: loss, val_loss, lr and task metrics per epoch; \`?format=csv\` returns \`epoch,loss,val_loss,at,lr\` and a column per metric. Pages of up to \`limit\` points (default and maximum ${MAX_LOSS_POINTS_PER_PAGE}) in epoch order: pass \`next_cursor\` (JSON) or follow the \`Link\` header (both formats) for the next page. ` +
        '`?format=svg` is an image/svg+xml chart of every epoch (training and validation loss, the early-stopping point), embeddable from other origins when the server runs without API keys.',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: LossesQuery,
      response: {
        200: contentResponse('Loss history (one page)', {
          'application/json': { schema: LossesResponse },
          'text/csv': { schema: LossesCsv },
          'image/svg+xml': { schema: LossesSvg },
        }, { headers: { Link: RESPONSE_HEADERS.Link, 'Content-Disposition': RESPONSE_HEADERS['Content-Disposition'] } }),
        ...errorResponses(400, 404),
      },
    },
  }, async (request, reply) => {
    const job = await findJob(request.params.id)
    const { format, limit, cursor } = request.query
    if (format === 'svg') {
      const all = await storage.losses.list(job.id)
      reply.type('image/svg+xml; charset=utf-8').header('content-disposition', `inline; filename="${job.id}-losses.svg"`)
      // Open servers let READMEs, notebooks and chat tools on other origins show the picture.
      if (app.config.apiKeys.size === 0) reply.header('cross-origin-resource-policy', 'cross-origin').header('access-control-allow-origin', '*')
      const stoppedAt = stoppedEarly(job) ? job.progressEpoch : null
      return lossChartSvg({ title: `${job.name}: loss per epoch`, lossLabel: lossLabel((job.dataSummary as { type?: unknown }).type), points: all, stoppedAt })
    }
    const afterEpoch = cursor === undefined ? 0 : parseLossCursor(cursor)
    // One point more than the page tells whether another page follows.
    const points = await storage.losses.list(job.id, { afterEpoch, limit: limit + 1 })
    const page = points.slice(0, limit)
    const nextCursor = points.length > limit ? String(page.at(-1)!.epoch) : null
    if (nextCursor !== null) {
      const next = new URLSearchParams({ format, limit: String(limit), cursor: nextCursor })
      reply.header('link', `</jobs/${encodeURIComponent(job.id)}/losses?${next}>; rel="next"`)
    }
    if (format === 'csv') {
      reply.type('text/csv; charset=utf-8').header('content-disposition', `inline; filename="${job.id}-losses.csv"`)
      return lossesCsv(page)
    }
    return { job: job.id, losses: page.map(presentLoss), next_cursor: nextCursor }
  })

  app.post('/jobs/:id/cancel', {
    config: { scope: 'jobs:write' },
    onRequest: ignoreContentTypeWithoutBody,
    schema: {
      operationId: 'cancelJob',
      summary: 'Cancel a job',
      description: 'A queued job is cancelled at once; a running job stops within the step under way (its training thread checks every time step), keeps its last checkpoint and ends `cancelled`. ' +
        'A job waiting for its database (`storage_wait`) stops too when the node training it answers, and ends `cancelled` once the database takes writes again.',
      tags: ['jobs'],
      params: JobIdParams,
      response: {
        202: jsonResponse('Cancelled, or stopping within the step under way', JobRef, { headers: { Location: RESPONSE_HEADERS.Location } }),
        ...errorResponses(404, 409, 507),
      },
    },
  }, async (request, reply) => {
    const job = await findJob(request.params.id)
    if (isFinishedStatus(job.status)) throw httpError('job_finished', `Job ${job.id} already ended ${job.status}; there is nothing to cancel`)
    let updated
    try {
      updated = (await storage.jobs.requestCancel(job.id, Date.now())) ?? job
    } catch (err) {
      // A job training here while its database refuses writes (full disk, read-only) still
      // stops now; it ends `cancelled` once its last writes go through.
      if (!isStorageFault(err) || !app.runner?.isTraining(job.id)) throw err
      request.log.warn({ jobId: job.id, err }, 'cancel could not be recorded (the database refuses writes); the job training here stops anyway')
      updated = { ...job, cancelRequested: true }
    }
    app.runner?.cancel(job.id)
    reply.code(202).header('location', `/jobs/${job.id}`)
    return present(updated)
  })

  app.delete('/jobs/:id', {
    config: { scope: 'jobs:write' },
    onRequest: ignoreContentTypeWithoutBody,
    schema: {
      operationId: 'deleteJob',
      summary: 'Delete a finished job with its checkpoints and losses',
      description: 'Its model version goes with it. A job an alias points to (e.g. `greeter@production`) is a 409 `version_aliased` until the alias moves.',
      tags: ['jobs'],
      params: JobIdParams,
      response: { 204: noContent('Deleted'), ...errorResponses(404, 409, 507) },
    },
  }, async (request, reply) => {
    const { id } = request.params
    // A job that an alias serves from stays until the alias moves.
    const result = await withRegistryErrors(() => app.registry.deleteJobVersion(id))
    if (result === 'not_found') throw httpError('job_not_found', `No job with id ${id}`)
    if (result === 'conflict') throw httpError('job_active', `Job ${id} is still queued or running; cancel it first (POST /jobs/${id}/cancel)`)
    app.serving.evict(id)
    app.modelsService.evict(id)
    reply.code(204)
    return null
  })

  app.get('/jobs/:id/weights', {
    config: { scope: 'jobs:read' },
    schema: {
      operationId: 'getJobWeights',
      summary: 'Export the weights: JSON state dict, safetensors or ONNX',
      description: 'Weights of the latest checkpoint (the final one once the job succeeded), named as PyTorch names them. `format=json` (default): `model.load_state_dict({k: torch.tensor(v["data"]).reshape(v["shape"]) ...})` loads them; `format=safetensors`: float64 tensors with the model card in `__metadata__.card`; `format=onnx`: an inference graph like torch.onnx.export gives (input `input` [batch, seq, features], output `logits` or `forecast`; `state=true` adds h0/c0 in and h_n/c_n out). An LSTM with proj_size has no ONNX form (409 export_unsupported).',
      tags: ['jobs'],
      params: JobIdParams,
      querystring: WeightsQuery,
      response: { 200: weightsResponse, ...errorResponses(400, 404, 409) },
    },
  }, async (request, reply) => reply.send(await sendWeights(app.modelsService, request.params.id, request.query, reply)))
}

export default jobRoutes
