import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { ImportError, importFromJson, importFromSafetensors, largestImportParams } from '../../models/import.js'
import { httpError } from '../errors.js'
import { presentModel, presentVersion } from '../presenters/model.js'
import { sendWeights, withModelErrors, withRegistryErrors } from '../presenters/model-export.js'
import { RESPONSE_HEADERS, errorResponses, jsonResponse, noContent } from '../schemas/common.js'
import { JobIdParams } from '../schemas/jobs.js'
import { ignoreContentTypeWithoutBody } from './jobs.js'
import {
  AliasParams, AliasResponse, ImportBody, SafetensorsBody, ModelCardResponse, ModelListResponse, ModelNameParams, ModelResponse,
  ModelVersionParams, ModelVersionResponse, SetAliasBody, WeightsQuery, weightsResponse,
} from '../schemas/models.js'

/** Room for the card and safetensors header beside the tensors of the largest model. */
const IMPORT_HEADER_BYTES = 4 * 1024 * 1024

/** Models as resources: cards, the registry (versions and aliases) and imports. */
const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { limits } = app.config
  const registry = () => app.registry
  // Imports may be as large as the largest model the limits accept (float64 safetensors),
  // on this route only; every other route keeps MAX_BODY_BYTES.
  const importBodyLimit = Math.max(limits.maxBodyBytes, largestImportParams(limits) * 8 + IMPORT_HEADER_BYTES)
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: importBodyLimit }, (_request, body, done) => done(null, body))

  app.get('/jobs/:id/model', {
    config: { scope: 'jobs:read' },
    schema: {
      operationId: 'getJobModelCard',
      summary: "The model card of a job's latest checkpoint",
      description: 'Everything needed to rebuild the model outside seqserve: the PyTorch modules and their arguments, which state feeds the head, the vocabulary in id order (and how it is ordered), label order, series normalisation (population std), window/horizon, text generation rules, precision, training configuration, losses, a data summary and the SHA-256 of the safetensors export.',
      tags: ['models'],
      params: JobIdParams,
      response: { 200: jsonResponse('The model card', ModelCardResponse), ...errorResponses(404, 409) },
    },
  }, async (request) => withModelErrors(async () => (await app.modelsService.artifactsForJob(request.params.id)).card))

  app.get('/models', {
    config: { scope: 'models:read' },
    schema: {
      operationId: 'listModels',
      summary: 'List models with their versions and aliases',
      description: 'A model is every succeeded job (and import) of one name; its versions are numbered 1, 2, ... in order of completion.',
      tags: ['models'],
      response: { 200: jsonResponse('Every model', ModelListResponse) },
    },
  }, async () => ({ items: (await registry().list()).map(presentModel) }))

  app.get('/models/:name', {
    config: { scope: 'models:read' },
    schema: { operationId: 'getModel', summary: 'A model: versions and aliases', tags: ['models'], params: ModelNameParams, response: { 200: jsonResponse('The model', ModelResponse), ...errorResponses(404) } },
  }, async (request) => withRegistryErrors(async () => presentModel(await registry().get(request.params.name))))

  app.get('/models/:name/versions/:version', {
    config: { scope: 'models:read' },
    schema: { operationId: 'getModelVersion', summary: 'One version of a model', tags: ['models'], params: ModelVersionParams, response: { 200: jsonResponse('The version', ModelVersionResponse), ...errorResponses(404) } },
  }, async (request) => withRegistryErrors(async () => {
    const { name, version } = request.params
    const v = await registry().version(name, version)
    return presentVersion(v, (await registry().get(name)).aliases)
  }))

  app.get('/models/:name/versions/:version/model', {
    config: { scope: 'models:read' },
    schema: { operationId: 'getModelVersionCard', summary: 'The model card of a version', tags: ['models'], params: ModelVersionParams, response: { 200: jsonResponse('The model card', ModelCardResponse), ...errorResponses(404, 409) } },
  }, async (request) => withRegistryErrors(async () => {
    const v = await registry().version(request.params.name, request.params.version)
    return withModelErrors(async () => (await app.modelsService.artifactsForJob(v.jobId)).card)
  }))

  app.get('/models/:name/versions/:version/weights', {
    config: { scope: 'models:read' },
    schema: {
      operationId: 'getModelVersionWeights',
      summary: 'Export the weights of a version: JSON state dict, safetensors or ONNX',
      description: 'As GET /jobs/{id}/weights for the job holding the version.',
      tags: ['models'], params: ModelVersionParams, querystring: WeightsQuery,
      response: { 200: weightsResponse, ...errorResponses(400, 404, 409) },
    },
  }, async (request, reply) => {
    const v = await withRegistryErrors(() => registry().version(request.params.name, request.params.version))
    return reply.send(await sendWeights(app.modelsService, v.jobId, request.query, reply))
  })

  app.put('/models/:name/aliases/:alias', {
    config: { scope: 'models:write' },
    schema: {
      operationId: 'setModelAlias',
      summary: 'Point an alias at a version (create, switch or roll back)',
      description: 'Atomic: every prediction by `name@alias` is served either by the old version or by the new one, never by none.',
      tags: ['models'], params: AliasParams, body: SetAliasBody,
      response: { 200: jsonResponse('The alias now points to the version', AliasResponse), ...errorResponses(400, 404, 415, 507) },
    },
  }, async (request) => withRegistryErrors(async () => {
    const { name, alias } = request.params
    await registry().setAlias(name, alias, request.body.version, Date.now())
    request.log.info({ model: name, alias, version: request.body.version }, 'alias set')
    return { name, alias, version: request.body.version }
  }))

  app.delete('/models/:name/aliases/:alias', {
    config: { scope: 'models:write' },
    onRequest: ignoreContentTypeWithoutBody,
    schema: { operationId: 'deleteModelAlias', summary: 'Delete an alias', tags: ['models'], params: AliasParams, response: { 204: noContent('Deleted'), ...errorResponses(404, 507) } },
  }, async (request, reply) => withRegistryErrors(async () => {
    await registry().deleteAlias(request.params.name, request.params.alias)
    reply.code(204)
    return null
  }))

  app.post('/models/:name/versions', {
    config: { scope: 'models:write' },
    bodyLimit: importBodyLimit,
    schema: {
      operationId: 'importModelVersion',
      summary: 'Import a model trained elsewhere as a new version',
      description: 'JSON `{card, state_dict}` (the card as GET /jobs/{id}/model returns it, only what defines the model needed; the state dict as GET /jobs/{id}/weights returns it), or a safetensors file as `application/octet-stream` (F32 or F64) with the card as a JSON string in `__metadata__["card"]`. Names, shapes, dtypes and values are checked; errors name the tensor. The version serves at once.',
      tags: ['models'], params: ModelNameParams,
      // Validated per media type: JSON against ImportBody; the safetensors bytes by the importer.
      body: { content: { 'application/json': { schema: ImportBody }, 'application/octet-stream': { schema: SafetensorsBody } } },
      response: { 201: jsonResponse('The new version', ModelVersionResponse, { headers: { Location: RESPONSE_HEADERS.Location } }), ...errorResponses(400, 413, 415, 507) },
    },
  }, async (request, reply) => {
    const name = request.params.name
    const body: unknown = request.body
    let imported
    try {
      imported = Buffer.isBuffer(body) ? importFromSafetensors(body, limits) : importFromJson(body, limits)
    } catch (err) {
      if (err instanceof ImportError) throw httpError('invalid_model', err.message, err.where)
      throw err
    }
    const version = await registry().importVersion(name, imported, Buffer.isBuffer(body) ? 'safetensors' : 'json', Date.now())
    request.log.info({ model: name, version: version.version, jobId: version.jobId }, 'model imported')
    reply.code(201).header('location', `/models/${encodeURIComponent(name)}/versions/${version.version}`)
    return presentVersion(version, {})
  })

  app.delete('/models/:name/versions/:version', {
    config: { scope: 'models:write' },
    onRequest: ignoreContentTypeWithoutBody,
    schema: {
      operationId: 'deleteModelVersion',
      summary: 'Delete an imported version',
      description: 'Versions trained here are deleted with their job (DELETE /jobs/{id}). A version an alias points to cannot be deleted (409) until the alias moves.',
      tags: ['models'], params: ModelVersionParams,
      response: { 204: noContent('Deleted'), ...errorResponses(404, 409, 507) },
    },
  }, async (request, reply) => withRegistryErrors(async () => {
    const jobId = await registry().deleteImported(request.params.name, request.params.version)
    app.serving.evict(jobId)
    app.modelsService.evict(jobId)
    reply.code(204)
    return null
  }))
}

export default modelRoutes
