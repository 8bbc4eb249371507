import fp from 'fastify-plugin'
import type { Metrics } from '../metrics/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus registry and the hooks that feed it (served at GET /metrics). */
    metrics: Metrics
  }
}

/** Decorates `app.metrics` and times every prediction request. */
export default fp<{ metrics: Metrics }>(
  async (app, { metrics }) => {
    app.decorate('metrics', metrics)
    app.addHook('onResponse', async (request, reply) => {
      if (request.routeOptions.url === '/predict') metrics.observePredict(request.method, reply.statusCode, reply.elapsedTime / 1000)
    })
  },
  { name: 'seqserve-metrics' },
)
