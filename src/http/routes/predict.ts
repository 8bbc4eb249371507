import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, jsonResponse } from '../schemas/common.js'
import { PredictBatchResponse, PredictResponse, predictBody, predictQuery } from '../schemas/predict.js'
import type { ResolvedModel } from '../../serving/prediction-service.js'
import type { PredictionResult } from '../../serving/prediction.js'
import { served, servingHttpError } from '../serving-errors.js'

function presentPrediction({ job, model, served: version }: ResolvedModel, result: PredictionResult) {
  return { job: job.id, ...version, task: model.meta.kind, ...result }
}

function failed(err: unknown): never {
  throw servingHttpError(err)
}

/**
 * Prediction routes: parse, ask the serving layer (which runs the model on the inference
 * workers), present. The response names what served it: the job, its model name, and the
 * registry version and alias.
 */
const predictRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { limits } = app.config
  const serving = app.serving

  app.get('/predict', {
    config: { scope: 'predict', rateLimitGroup: 'predict' },
    schema: {
      operationId: 'predict',
      summary: 'Predict with a trained model',
      description: 'pairs: maps `input` to a string of the same length; text: continues the prompt by `length` characters; series: forecasts the next values of comma-separated numbers; classes: returns `label` and `probabilities`. Runs on the inference workers; a request whose estimated cost exceeds PREDICT_MAX_COST is refused with 400 `predict_too_costly`, one still running after PREDICT_TIMEOUT_MS answers 504 `predict_timeout`, and a full queue answers 503 `overloaded` with Retry-After.',
      tags: ['predict'],
      querystring: predictQuery(limits),
      response: { 200: jsonResponse('The prediction', PredictResponse), ...errorResponses(400, 404, 409, 503, 504) },
    },
  }, (request) => {
    // The hottest route: a remembered model is used without a trip through the event loop,
    // a tiny one (the seed model) answers without a promise at all (the handler returns the
    // payload, which fastify sends at once), and refusals are mapped here rather than
    // through a wrapping closure (served()).
    const { query } = request
    try {
      const resolved = serving.resolved(query)
      if (resolved) {
        const results = serving.predict(resolved.model, [query.input], query)
        if (!(results instanceof Promise)) return presentPrediction(resolved, results[0]!)
        return served(async () => presentPrediction(resolved, (await results)[0]!))
      }
    } catch (err) {
      return failed(err)
    }
    return served(async () => {
      const resolved = await serving.resolve(query)
      return presentPrediction(resolved, (await serving.predict(resolved.model, [query.input], query))[0]!)
    })
  })

  app.post('/predict', {
    config: { scope: 'predict', rateLimitGroup: 'predict' },
    schema: {
      operationId: 'predictBatch',
      summary: 'Predict a batch of inputs',
      description: 'The same as GET /predict for every entry of `inputs`; numeric arrays may be given directly for series models. With a `seed`, text entry i uses seed + i. The whole request is admitted (or refused) by its estimated cost.',
      tags: ['predict'],
      body: predictBody(limits),
      response: { 200: jsonResponse('One prediction per input, in order', PredictBatchResponse), ...errorResponses(400, 404, 409, 413, 415, 503, 504) },
    },
  }, async (request) => served(async () => {
    const { job, model, served: version } = await serving.resolve(request.body)
    const { inputs, job: _job, model: _model, version: _version, ...options } = request.body
    const predictions = await serving.predict(model, inputs, options)
    return { job: job.id, ...version, task: model.meta.kind, predictions }
  }))
}

export default predictRoutes
