import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyError } from 'fastify'
import { checkReadiness } from '../../jobs/readiness.js'
import { ServingError } from '../../serving/errors.js'
import type { ResolvedModel } from '../../serving/prediction-service.js'
import { httpError, isAppError } from '../errors.js'
import { packageInfo } from '../package-info.js'
import { jsonResponse } from '../schemas/common.js'
import { storageFaultHttpError, toErrorBody } from '../plugins/error-handler.js'
import { servingHttpError } from '../serving-errors.js'
import {
  InferResponse, LiveResponse, ModelMetadata, ModelParams, ModelReadyResponse, ModelVersionParams, ReadyResponse, ServerMetadata,
  inferRequest, v2ErrorResponses,
} from './schemas.js'
import { inputMetadata, inputsFromTensor, outputMetadata, outputTensors } from './tensors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `open-inference`: errors use the protocol's `{ error, code }` body (documented in /openapi.json). */
    errorShape?: 'open-inference'
  }
}

const TAGS = ['open inference protocol (v2)']

/**
 * KServe V2 / Open Inference Protocol (REST), mapped onto the serving layer: a model name
 * resolves through the model registry (NAME = its highest version, NAME@ALIAS), and a
 * version is a registry version number (or, as before the registry, a succeeded job's id).
 * Errors here, whoever raises them (validation, auth, rate limits, overload, timeouts),
 * answer the protocol's `{"error": "<message>"}` plus our `code`: the one documented
 * exception to the API's error shape. Registered under the /v2 prefix.
 */
const v2Routes: FastifyPluginAsyncTypebox = async (app) => {
  const { limits } = app.config
  const serving = app.serving
  const predictConfig = { scope: 'predict', rateLimitGroup: 'predict', errorShape: 'open-inference' } as const
  const healthConfig = { scope: 'public', loadShedding: false, errorShape: 'open-inference' } as const

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const mapped = storageFaultHttpError(error) ?? servingHttpError(error)
    const body = toErrorBody(mapped as FastifyError, request)
    if (body.statusCode >= 500 && !isAppError(mapped)) request.log.error({ err: error }, 'request failed')
    else if (body.statusCode >= 500) request.log.error({ err: error, statusCode: body.statusCode, code: body.code }, body.message)
    else request.log.info({ statusCode: body.statusCode, code: body.code }, body.message)
    const headers = (mapped as { headers?: Record<string, string> }).headers
    if (headers) reply.headers(headers)
    return reply.code(body.statusCode).type('application/json; charset=utf-8').send({ error: body.message, code: body.code })
  })
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!.slice(0, 200)
    return reply.code(404).send({ error: `No route for ${request.method} ${path}`, code: 'not_found' })
  })

  /** A version is the registry's number; anything else is taken as a job id (a job of that name). */
  const resolve = async (name: string, version?: string): Promise<ResolvedModel> => {
    try {
      if (version === undefined) return await serving.resolve({ model: name })
      if (/^[1-9]\d{0,9}$/.test(version)) return await serving.resolve({ model: name, version: Number(version) })
      const resolved = await serving.resolve({ job: version }).catch((err: unknown) => {
        if (err instanceof ServingError && err.code === 'job_not_found') throw new ServingError('model_not_found', `Model ${JSON.stringify(name)} has no version ${JSON.stringify(version)} (versions are its registry version numbers, or ids of its succeeded jobs)`)
        throw err
      })
      if (resolved.job.name !== name) throw httpError('model_not_found', `Job ${version} is not a version of ${JSON.stringify(name)} (it is named ${JSON.stringify(resolved.job.name)})`)
      return resolved
    } catch (err) {
      throw servingHttpError(err)
    }
  }

  /** The registry's version number as a string; a job that is no version answers its id. */
  const modelVersion = ({ job, served }: ResolvedModel) => (served.version === null ? job.id : String(served.version))

  app.get('', {
    config: healthConfig,
    schema: { operationId: 'v2ServerMetadata', summary: 'Server metadata (Open Inference Protocol)', description: 'The server\'s name and version; no key needed.', tags: TAGS, response: { 200: jsonResponse('Server name, version and extensions', ServerMetadata) } },
  }, async () => ({ name: packageInfo().name, version: packageInfo().version, extensions: [] }))

  app.get('/health/live', {
    config: healthConfig,
    schema: { operationId: 'v2ServerLive', summary: 'Server liveness (Open Inference Protocol)', description: '`{"live": true}` while the process answers, like /healthz.', tags: TAGS, response: { 200: jsonResponse('The server is live', LiveResponse) } },
  }, async () => ({ live: true }))

  app.get('/health/ready', {
    config: healthConfig,
    schema: {
      operationId: 'v2ServerReady',
      summary: 'Server readiness (Open Inference Protocol)',
      description: 'The same checks as /readyz: 200 `{"ready": true}`, or 503 `{"ready": false}`.',
      tags: TAGS,
      response: { 200: jsonResponse('Ready', ReadyResponse), 503: jsonResponse('Not ready', ReadyResponse) },
    },
  }, async (_request, reply) => {
    const { ready } = await checkReadiness(app.storage, app.runner, app.config.role)
    reply.code(ready ? 200 : 503)
    return { ready }
  })

  const metadata = async (resolved: ResolvedModel) => {
    const { model } = resolved
    return {
      name: resolved.served.model,
      versions: [modelVersion(resolved)],
      platform: `seqserve_${model.meta.kind}_${model.config.mode.startsWith('rnn') ? 'rnn' : model.config.mode}`,
      inputs: inputMetadata(model.meta),
      outputs: outputMetadata(model.meta),
      parameters: { task: model.meta.kind, ...(model.meta.kind === 'classes' ? { labels: model.meta.labels } : {}) },
    }
  }

  for (const versioned of [false, true]) {
    const base = versioned ? '/models/:name/versions/:version' : '/models/:name'
    const params = versioned ? ModelVersionParams : ModelParams
    const which = versioned ? 'a model version (a registry version number, or a succeeded job of that name by id)' : 'a model (NAME: its highest version; NAME@ALIAS: the version the alias points to)'
    const id = (action: string) => `v2Model${versioned ? 'Version' : ''}${action}`
    const version = (p: object) => (p as { version?: string }).version

    app.get(base, {
      config: predictConfig,
      schema: { operationId: id('Metadata'), summary: `Metadata of ${which}`, tags: TAGS, params, response: { 200: jsonResponse('Tensors, platform and versions', ModelMetadata), ...v2ErrorResponses(400, 404) } },
    }, async (request) => metadata(await resolve(request.params.name, version(request.params))))

    app.get(`${base}/ready`, {
      config: predictConfig,
      schema: { operationId: id('Ready'), summary: `Readiness of ${which}`, description: '200 `{"name", "ready": true}` when it can be served; 404 when no such model.', tags: TAGS, params, response: { 200: jsonResponse('The model can be served', ModelReadyResponse), ...v2ErrorResponses(400, 404) } },
    }, async (request) => {
      const { served } = await resolve(request.params.name, version(request.params))
      return { name: served.model, ready: true }
    })

    app.post(`${base}/infer`, {
      config: predictConfig,
      schema: {
        operationId: id('Infer'),
        summary: `Inference with ${which}`,
        description: 'pairs/text/classes read a BYTES tensor `input` (one string per row); series read FP32/FP64 `[batch, steps, features]` (or `[steps]`, `[batch, steps]`). Outputs: `output` (BYTES) for pairs and text; `label` (BYTES) and `probabilities` (FP64 `[batch, labels]`) for classes; `forecast` (FP64 `[batch, horizon, features]`) for series. Admission, deadlines, the queue and micro-batching are those of /predict.',
        tags: TAGS,
        params,
        body: inferRequest(limits),
        response: { 200: jsonResponse('The outputs', InferResponse), ...v2ErrorResponses(400, 404, 409, 413, 415, 504) },
      },
    }, async (request) => {
      const resolved = await resolve(request.params.name, version(request.params))
      const { model } = resolved
      const body = request.body
      const inputs = inputsFromTensor(body.inputs[0], model.meta, limits.maxPredictBatch)
      const p = body.parameters ?? {}
      const seed = model.meta.kind === 'text' ? (p.seed ?? Math.floor(Math.random() * 2 ** 32)) : undefined
      const options = { length: p.length ?? Math.min(100, limits.maxPredictLength), temperature: p.temperature ?? 1, top_k: p.top_k ?? 0, seed, horizon: p.horizon }
      let results
      try {
        results = await serving.predict(model, inputs, options)
      } catch (err) {
        throw servingHttpError(err)
      }
      return {
        model_name: resolved.served.model,
        model_version: modelVersion(resolved),
        ...(body.id === undefined ? {} : { id: body.id }),
        ...(seed === undefined ? {} : { parameters: { seed } }),
        outputs: outputTensors(model.meta, results, body.outputs?.map((o) => o.name)),
      }
    })
  }
}

export default v2Routes
