import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { withModelErrors } from '../presenters/model-export.js'
import { errorResponses } from '../schemas/common.js'
import { JobIdParams } from '../schemas/jobs.js'
import { ModelCardResponse } from '../schemas/models.js'

/** Models as resources: cards (and, with the registry, versions and aliases). */
const modelRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/jobs/:id/model', {
    config: { scope: 'jobs:read' },
    schema: {
      summary: "The model card of a job's latest checkpoint",
      description: 'Everything needed to rebuild the model outside seqserve: the PyTorch modules and their arguments, which state feeds the head, the vocabulary in id order (and how it is ordered), label order, series normalisation (population std), window/horizon, text generation rules, precision, training configuration, losses, a data summary and the SHA-256 of the safetensors export.',
      tags: ['models'],
      params: JobIdParams,
      response: { 200: ModelCardResponse, ...errorResponses(404, 409) },
    },
  }, async (request) => withModelErrors(() => app.modelsService.artifactsForJob(request.params.id).card))
}

export default modelRoutes
