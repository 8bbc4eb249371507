import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { checkReadiness } from '../../jobs/readiness.js'
import { MEDIA_TYPES, contentResponse, jsonResponse } from '../schemas/common.js'

const ReadinessResponse = Type.Object({
  status: Type.Enum(['ready', 'not_ready']),
  role: Type.Enum(['api', 'worker', 'all'], { description: 'What this node does (ROLE)' }),
  checks: Type.Object({ database: Type.Boolean(), migrations: Type.Boolean(), workers: Type.Boolean() }),
  reasons: Type.Array(Type.String(), { description: 'Why the service is not ready; empty when ready' }),
}, { examples: [{ status: 'ready', role: 'all', checks: { database: true, migrations: true, workers: true }, reasons: [] }] })

/** Readiness and Prometheus metrics, for load balancers and monitoring. */
const operationsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/readyz', {
    config: { scope: 'public', loadShedding: false },
    schema: {
      operationId: 'getReadiness',
      summary: 'Readiness probe',
      description: '200 when the database is writable, its migrations are applied and (on nodes that train) the worker pool is up; 503 with the reasons otherwise.',
      tags: ['health'],
      response: {
        200: jsonResponse('Ready to serve', ReadinessResponse),
        503: jsonResponse('Not ready; `reasons` says why', ReadinessResponse),
      },
    },
  }, async (_request, reply) => {
    const readiness = await checkReadiness(app.storage, app.runner, app.config.role)
    reply.code(readiness.ready ? 200 : 503)
    return { status: readiness.ready ? 'ready' as const : 'not_ready' as const, role: readiness.role, checks: readiness.checks, reasons: readiness.reasons }
  })

  app.get('/metrics', {
    config: { scope: 'metrics:read', loadShedding: false },
    schema: {
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      description: 'Prometheus text format: jobs by status, lifecycle counters, training throughput, queue wait, predict latency, model cache hits and misses, process metrics.',
      tags: ['operations'],
      response: {
        200: contentResponse('The metrics', {
          [MEDIA_TYPES.prometheus]: { schema: Type.String({ description: 'Prometheus text exposition format 0.0.4 (`text/plain; version=0.0.4; charset=utf-8`)' }) },
        }),
      },
    },
  }, async (_request, reply) => {
    reply.type(app.metrics.registry.contentType)
    return app.metrics.registry.metrics()
  })
}

export default operationsRoutes
