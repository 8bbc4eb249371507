import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { UnknownCharactersError } from '../../engine/tasks/vocabulary.js'
import { InvalidInputError, type PredictInput, type PredictOptions, predict } from '../../jobs/prediction.js'
import type { JobRecord } from '../../storage/types.js'
import { httpError } from '../errors.js'
import { withRegistryErrors } from '../presenters/model-export.js'
import { errorResponses, jsonResponse } from '../schemas/common.js'
import { PredictBatchResponse, PredictResponse, predictBody, predictQuery } from '../schemas/predict.js'

/**
 * Serving: predictions run on the main thread from models cached in memory, so they never
 * queue behind training (which runs on the worker threads).
 */
const predictRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { limits } = app.config

  /** The job that serves, and the model version it is (job= predictions name their version too). */
  const resolve = async (selector: { job?: string; model?: string; version?: number }) => {
    if ((selector.job === undefined) === (selector.model === undefined)) {
      throw httpError('validation_failed', 'give exactly one of job (a job id) or model (NAME, NAME@ALIAS, or NAME with version)')
    }
    if (selector.job !== undefined && selector.version !== undefined) throw httpError('validation_failed', 'version selects a version of a model: give model=NAME with it, not job')
    let served: { name: string; version: number; alias: string | null } | undefined
    let jobId: string
    if (selector.model !== undefined) {
      const resolved = await withRegistryErrors(() => app.registry.resolve(selector.model!, selector.version))
      served = resolved
      jobId = resolved.jobId
    } else {
      jobId = selector.job!
    }
    const job: JobRecord | undefined = await app.storage.jobs.findById(jobId)
    if (!job) throw httpError('job_not_found', `No job with id ${jobId}`)
    if (job.status !== 'succeeded') {
      throw httpError('job_not_succeeded', `Job ${job.id} is ${job.status}; predictions need a succeeded job`, { status: job.status })
    }
    const predictor = await app.models.get(job.id)
    if (!predictor) throw httpError('job_not_succeeded', `Job ${job.id} has no final checkpoint`, { status: job.status })
    served ??= await app.registry.versionOf(job.id)
    return { job, predictor, served: { model: served?.name ?? job.name, version: served?.version ?? null, alias: served?.alias ?? null } }
  }

  const run = (predictor: Parameters<typeof predict>[0], input: PredictInput, options: PredictOptions) => {
    try {
      return predict(predictor, input, options)
    } catch (err) {
      if (err instanceof UnknownCharactersError) {
        throw httpError('unknown_characters', `input has characters the model never saw: ${err.characters.map((c) => JSON.stringify(c)).join(', ')}`, { characters: err.characters })
      }
      if (err instanceof InvalidInputError || err instanceof RangeError) throw httpError('invalid_input', err.message)
      throw err
    }
  }

  app.get('/predict', {
    config: { scope: 'predict', rateLimitGroup: 'predict' },
    schema: {
      operationId: 'predict',
      summary: 'Predict with a trained model',
      description: 'pairs: maps `input` to a string of the same length; text: continues the prompt by `length` characters; series: forecasts the next values of comma-separated numbers; classes: returns `label` and `probabilities`.',
      tags: ['predict'],
      querystring: predictQuery(limits),
      response: { 200: jsonResponse('The prediction', PredictResponse), ...errorResponses(400, 404, 409) },
    },
  }, async (request) => {
    const { job, predictor, served } = await resolve(request.query)
    const result = run(predictor, request.query.input, request.query)
    return { job: job.id, ...served, task: predictor.meta.kind, ...result }
  })

  app.post('/predict', {
    config: { scope: 'predict', rateLimitGroup: 'predict' },
    schema: {
      operationId: 'predictBatch',
      summary: 'Predict a batch of inputs',
      description: 'The same as GET /predict for every entry of `inputs`; numeric arrays may be given directly for series models. With a `seed`, text entry i uses seed + i.',
      tags: ['predict'],
      body: predictBody(limits),
      response: { 200: jsonResponse('One prediction per input, in order', PredictBatchResponse), ...errorResponses(400, 404, 409, 413, 415) },
    },
  }, async (request) => {
    const { job, predictor, served } = await resolve(request.body)
    const { inputs, seed, job: _job, model: _model, version: _version, ...options } = request.body
    const predictions = inputs.map((input, i) => run(predictor, input, { ...options, seed: seed === undefined ? undefined : (seed + i) >>> 0 }))
    return { job: job.id, ...served, task: predictor.meta.kind, predictions }
  })
}

export default predictRoutes
