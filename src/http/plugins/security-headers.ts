import type { IncomingMessage, ServerResponse } from 'node:http'
import fp from 'fastify-plugin'
import helmet, { type HelmetOptions } from 'helmet'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Security headers of this route, over SECURITY_HEADERS (the Swagger UI pages: DOCS_SECURITY_HEADERS). */
    helmet?: HelmetOptions
  }
}

/**
 * Security headers for a JSON API (helmet's), set in the first hook so every
 * response has them, errors included.
 *
 * - API responses are never a page: `default-src 'none'` and `frame-ancestors 'none'`, so
 *   a response rendered in a browser runs nothing, loads nothing and cannot be framed.
 * - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` (for browsers without
 *   frame-ancestors), `Referrer-Policy: no-referrer`, `Cross-Origin-Resource-Policy: same-origin`.
 * - Headers that only act on HTML documents (`Cross-Origin-Opener-Policy`,
 *   `Origin-Agent-Cluster`, `X-DNS-Prefetch-Control`, `X-Download-Options`,
 *   `X-Permitted-Cross-Domain-Policies`, `X-XSS-Protection`) go on the pages under /docs and
 *   /ui only (PAGE_HEADERS), as OWASP's REST Security Cheat Sheet lists for APIs. On JSON they
 *   did nothing but cost the hottest route bytes and time (README "Serving benchmark").
 * - No HSTS: the service speaks plain HTTP behind a TLS-terminating proxy or load balancer,
 *   and HSTS belongs to whoever owns the HTTPS hostname (it pins every subdomain too with
 *   includeSubDomains). Set it there.
 * - No `upgrade-insecure-requests`: on a plain-HTTP deployment it would make browsers fetch
 *   the Swagger UI assets over HTTPS and break /docs.
 *
 * The Swagger UI pages under /docs get `DOCS_SECURITY_HEADERS` instead (plugins/swagger.ts).
 */

const API_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'none'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'none'"],
  },
}

export const SECURITY_HEADERS: HelmetOptions = {
  contentSecurityPolicy: API_CSP,
  strictTransportSecurity: false,
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
}

/** What browsers act on for HTML documents only: set on the pages (/docs, /ui), not on JSON. */
export const PAGE_HEADERS = {
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  originAgentCluster: true,
  xDnsPrefetchControl: { allow: false },
  xDownloadOptions: true,
  xPermittedCrossDomainPolicies: { permittedPolicies: 'none' },
  xXssProtection: true,
} satisfies HelmetOptions

/**
 * What Swagger UI needs and no more: its scripts are files under /docs/static (no inline
 * script, no eval), its bundle injects one <style> element (hence 'unsafe-inline' for
 * styles only; a hash would break with every swagger-ui release), its CSS draws icons from
 * data: URIs, and it fetches the spec and "Try it out" requests from this origin. It loads
 * no fonts. Checked in headless Chromium: the page and an expanded operation render with
 * no CSP violation (test/http/security-headers.test.ts).
 */
export const DOCS_SECURITY_HEADERS = {
  ...PAGE_HEADERS,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      objectSrc: ["'none'"],
    },
  },
} satisfies HelmetOptions

/**
 * The headers helmet sets for `options`, computed once: they depend only on the options
 * (no nonces), and running helmet's middleware chain on every request cost the hot routes
 * about a tenth of their time (README "Serving").
 */
export function securityHeaders(options: Readonly<HelmetOptions>): Record<string, string> {
  const headers: Record<string, string> = {}
  const response = {
    setHeader: (name: string, value: unknown) => { headers[name.toLowerCase()] = String(value) },
    removeHeader: (name: string) => { delete headers[name.toLowerCase()] },
  }
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err
  })
  return headers
}

/**
 * The dashboard under /ui: its own scripts and styles only (uPlot sets element styles from
 * script, which CSP allows), API calls and event streams to this origin, and the loss
 * charts' SVG and canvas images.
 */
export const UI_SECURITY_HEADERS = {
  ...PAGE_HEADERS,
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:', 'blob:'],
      connectSrc: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      objectSrc: ["'none'"],
    },
  },
} satisfies HelmetOptions

export default fp(
  async (app) => {
    // Per route configuration object: the API's headers, or a route's own (the docs pages).
    const byRoute = new WeakMap<object, Record<string, string>>()
    const api = securityHeaders(SECURITY_HEADERS)
    app.addHook('onRequest', (request, reply, done) => {
      const config = request.routeOptions.config
      let headers = config.helmet === undefined ? api : byRoute.get(config)
      if (headers === undefined) {
        headers = securityHeaders({ ...SECURITY_HEADERS, ...config.helmet } as HelmetOptions)
        byRoute.set(config, headers)
      }
      reply.headers(headers)
      done()
    })
  },
  { name: 'seqserve-security-headers' },
)
