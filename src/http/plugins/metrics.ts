import fp from 'fastify-plugin'
import type { Metrics } from '../metrics/metrics.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus registry and the hooks that feed it (served at GET /metrics). */
    metrics: Metrics
  }
}

/** The model routes: cards, exports and the registry. */
const MODEL_ROUTE = /^\/models\b|^\/jobs\/:id\/(model|weights)$/

/** Decorates `app.metrics` and times every prediction request. */
export default fp<{ metrics: Metrics }>(
  async (app, { metrics }) => {
    app.decorate('metrics', metrics)
    // A callback hook: it runs on every response (no promise, no extra tick).
    app.addHook('onResponse', (request, reply, done) => {
      const url = request.routeOptions.url
      if (url === '/predict') metrics.observePredict(request.method, reply.statusCode, reply.elapsedTime / 1000)
      else if (url !== undefined && MODEL_ROUTE.test(url)) metrics.observeModelRequest(`${request.method} ${url}`, reply.statusCode)
      done()
    })
  },
  { name: 'seqserve-metrics' },
)
