import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { servesApi } from '../../config.js'
import eventRoutes from './events.js'
import healthRoutes from './health.js'
import jobRoutes from './jobs.js'
import modelRoutes from './models.js'
import operationsRoutes from './operations.js'
import predictRoutes from './predict.js'
import uiRoutes from './ui.js'
import v2Routes from '../v2/routes.js'

/**
 * Every route plugin of the API, registered in one place. Each route file exports one
 * fastify plugin (`FastifyPluginAsyncTypebox`) whose routes carry full schemas
 * (summary, tags, params/querystring/body, responses incl. `errorResponses(...)`).
 * Add a resource by writing `./<resource>.ts` and registering it below.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(healthRoutes)
  // A worker node (ROLE=worker) trains and answers the probes and metrics only.
  if (servesApi(app.config.role)) {
    await app.register(jobRoutes)
    await app.register(eventRoutes)
    await app.register(modelRoutes)
    await app.register(predictRoutes)
    // Open Inference Protocol: its own error shape and not-found handler under /v2.
    await app.register(v2Routes, { prefix: '/v2' })
    // The web dashboard (/ui) and the / redirect to it.
    await app.register(uiRoutes)
  }
  await app.register(operationsRoutes)
}

export default routes
