import rateLimit from '@fastify/rate-limit'
import type { FastifyRequest, onRequestAsyncHookHandler, RouteOptions } from 'fastify'
import fp from 'fastify-plugin'
import { httpError } from '../errors.js'

/** Routes that share one per-minute budget per client. */
export const RATE_LIMIT_GROUPS = ['jobs', 'predict'] as const
export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number]

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Counts the route against a per-minute budget (RATE_LIMIT_<GROUP>_PER_MINUTE). */
    rateLimitGroup?: RateLimitGroup
  }
}

const WINDOW_MS = 60_000

/** How 429 messages name a group's routes. */
const GROUP_ROUTES: Record<RateLimitGroup, string> = { jobs: 'POST /jobs', predict: 'GET/POST /predict and the /v2 model routes' }

const routeName = (request: FastifyRequest) => `${request.method} ${request.routeOptions.url}`

/** Whose budget a request spends: its API key's, or its address's when the service is open. */
export function rateLimitKey(request: FastifyRequest): string {
  return request.apiKey ? `key:${request.apiKey.id}` : `ip:${request.ip}`
}

/**
 * Per-client request budgets (@fastify/rate-limit, fixed one-minute windows, in memory).
 *
 * A route opts in with `config: { rateLimitGroup: 'predict' }`; all routes of a group share
 * one counter per client, so GET and POST /predict (and the /v2 model routes) draw on the
 * same budget. Predict is unlimited unless RATE_LIMIT_PREDICT_PER_MINUTE is set. The check runs
 * after authentication (route hooks follow app hooks), so it counts by API key, and a
 * client over budget gets 429 `rate_limited` with `Retry-After` and the `x-ratelimit-*`
 * headers, which every counted response carries.
 */
export default fp(
  async (app) => {
    const perMinute: Record<RateLimitGroup, number> = {
      jobs: app.config.rateLimits.jobsPerMinute,
      predict: app.config.rateLimits.predictPerMinute,
    }

    await app.register(rateLimit, {
      global: false,
      keyGenerator: rateLimitKey,
      errorResponseBuilder: (request, context) => {
        const group = request.routeOptions.config.rateLimitGroup
        const routes = group === undefined ? routeName(request) : GROUP_ROUTES[group]
        const who = request.apiKey ? 'this API key' : 'this client address'
        return httpError(
          'rate_limited',
          `Rate limit of ${context.max} requests per minute to ${routes} exceeded by ${who}; retry in ${Math.ceil(context.ttl / 1000)} s`,
          { limit_per_minute: context.max },
        )
      },
    })

    const limiters = new Map<RateLimitGroup, onRequestAsyncHookHandler>()
    for (const group of RATE_LIMIT_GROUPS) {
      if (perMinute[group] > 0) {
        limiters.set(group, app.rateLimit({ max: perMinute[group], timeWindow: WINDOW_MS }) as onRequestAsyncHookHandler)
      }
    }

    app.addHook('onRoute', (route: RouteOptions) => {
      const group = route.config?.rateLimitGroup
      if (group === undefined) return
      if (!RATE_LIMIT_GROUPS.includes(group)) throw new Error(`Route ${route.method} ${route.url}: unknown rateLimitGroup ${String(group)}`)
      const limiter = limiters.get(group)
      if (!limiter) return
      const existing = route.onRequest
      route.onRequest = existing === undefined ? [limiter] : [...(Array.isArray(existing) ? existing : [existing]), limiter]
    })
  },
  { name: 'seqserve-rate-limits', dependencies: ['seqserve-config', 'seqserve-auth'] },
)
