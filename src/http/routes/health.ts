import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { jsonResponse } from '../schemas/common.js'
import { HealthResponse } from '../schemas/health.js'

/** Liveness: answers while the process can serve HTTP; touches nothing else. */
const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/healthz',
    {
      // Probes need no key, and liveness answers even while load is shed (load-shedding.ts).
      config: { scope: 'public', loadShedding: false },
      schema: {
        operationId: 'getHealth',
        summary: 'Liveness probe',
        description: 'Returns 200 while the process is up. It does not check the database or workers.',
        tags: ['health'],
        response: { 200: jsonResponse('The process is up', HealthResponse) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )
}

export default healthRoutes
