import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { UnknownCharactersError } from '../../engine/tasks/vocabulary.js'
import { InvalidInputError, type PredictInput, type PredictOptions, predict } from '../../jobs/prediction.js'
import type { JobRecord } from '../../storage/types.js'
import { httpError } from '../errors.js'
import { errorResponses, jsonResponse } from '../schemas/common.js'
import { PredictBatchResponse, PredictResponse, predictBody, predictQuery } from '../schemas/predict.js'

/**
 * Serving: predictions run on the main thread from models cached in memory, so they never
 * queue behind training (which runs on the worker threads).
 */
const predictRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { limits } = app.config

  const resolve = async (selector: { job?: string; model?: string }) => {
    if ((selector.job === undefined) === (selector.model === undefined)) {
      throw httpError('validation_failed', 'give exactly one of job (a job id) or model (a model name)')
    }
    let job: JobRecord | undefined
    if (selector.job !== undefined) {
      job = await app.storage.jobs.findById(selector.job)
      if (!job) throw httpError('job_not_found', `No job with id ${selector.job}`)
    } else {
      job = await app.storage.jobs.findNewestSucceededByName(selector.model!)
      if (!job) throw httpError('model_not_found', `No succeeded job is named ${JSON.stringify(selector.model)}`)
    }
    if (job.status !== 'succeeded') {
      throw httpError('job_not_succeeded', `Job ${job.id} is ${job.status}; predictions need a succeeded job`, { status: job.status })
    }
    const predictor = await app.models.get(job.id)
    if (!predictor) throw httpError('job_not_succeeded', `Job ${job.id} has no final checkpoint`, { status: job.status })
    return { job, predictor }
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
    const { job, predictor } = await resolve(request.query)
    const result = run(predictor, request.query.input, request.query)
    return { job: job.id, model: job.name, task: predictor.meta.kind, ...result }
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
    const { job, predictor } = await resolve(request.body)
    const { inputs, seed, ...options } = request.body
    const predictions = inputs.map((input, i) => run(predictor, input, { ...options, seed: seed === undefined ? undefined : (seed + i) >>> 0 }))
    return { job: job.id, model: job.name, task: predictor.meta.kind, predictions }
  })
}

export default predictRoutes
