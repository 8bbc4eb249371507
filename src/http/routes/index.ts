import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import healthRoutes from './health.js'
import jobRoutes from './jobs.js'
import operationsRoutes from './operations.js'
import predictRoutes from './predict.js'
import v2Routes from '../v2/routes.js'

/**
 * Every route plugin of the API, registered in one place. Each route file exports one
 * fastify plugin (`FastifyPluginAsyncTypebox`) whose routes carry full schemas
 * (summary, tags, params/querystring/body, responses incl. `errorResponses(...)`).
 * Add a resource by writing `./<resource>.ts` and registering it below.
 */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(healthRoutes)
  await app.register(jobRoutes)
  await app.register(predictRoutes)
  await app.register(operationsRoutes)
  // Open Inference Protocol: its own error shape and not-found handler under /v2.
  await app.register(v2Routes, { prefix: '/v2' })
}

export default routes
