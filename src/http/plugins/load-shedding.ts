import underPressure from '@fastify/under-pressure'
import fp from 'fastify-plugin'
import { httpError } from '../errors.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `false` exempts the route from load shedding. Liveness must answer while the
     * process is merely busy, or an orchestrator restarts a healthy pod and makes the
     * overload worse.
     */
    loadShedding?: boolean
  }
}

/**
 * How long a shed client should wait. The delay is re-measured every second, so pressure
 * can lift quickly; a few seconds spreads the retries without idling the service long.
 */
export const LOAD_SHED_RETRY_AFTER_S = 5

/**
 * Sheds load with @fastify/under-pressure: while the event loop's mean delay over the last
 * second exceeds MAX_EVENT_LOOP_DELAY_MS, requests get 503 `service_unavailable` with
 * `Retry-After` before any work is done for them (the check is the first hook after the
 * security headers). Routes with `config: { loadShedding: false }` are always served.
 *
 * The plugin is registered even when disabled (MAX_EVENT_LOOP_DELAY_MS=0), so
 * `app.isUnderPressure()` and `app.memoryUsage()` exist for readiness and metrics.
 */
export default fp(
  async (app) => {
    const maxDelayMs = app.config.maxEventLoopDelayMs
    await app.register(underPressure, {
      maxEventLoopDelay: maxDelayMs,
      retryAfter: LOAD_SHED_RETRY_AFTER_S,
      pressureHandler: async (request, reply) => {
        if (request.routeOptions.config.loadShedding === false) return
        reply.header('retry-after', String(LOAD_SHED_RETRY_AFTER_S))
        throw httpError(
          'service_unavailable',
          `The server is overloaded; retry in ${LOAD_SHED_RETRY_AFTER_S} s`,
        )
      },
    })
  },
  { name: 'seqserve-load-shedding', dependencies: ['seqserve-config'] },
)
