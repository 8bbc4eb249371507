import helmet, { type FastifyHelmetOptions } from '@fastify/helmet'
import fp from 'fastify-plugin'

/**
 * Security headers for a JSON API (@fastify/helmet), set in the first hook so every
 * response has them, errors included.
 *
 * - API responses are never a page: `default-src 'none'` and `frame-ancestors 'none'`, so
 *   a response rendered in a browser runs nothing, loads nothing and cannot be framed.
 * - `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` (for browsers without
 *   frame-ancestors), `Referrer-Policy: no-referrer`, `Cross-Origin-Opener-Policy` and
 *   `Cross-Origin-Resource-Policy: same-origin`, `X-Permitted-Cross-Domain-Policies: none`.
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

export const SECURITY_HEADERS: FastifyHelmetOptions = {
  contentSecurityPolicy: API_CSP,
  strictTransportSecurity: false,
  xFrameOptions: { action: 'deny' },
  referrerPolicy: { policy: 'no-referrer' },
  crossOriginOpenerPolicy: { policy: 'same-origin' },
  crossOriginResourcePolicy: { policy: 'same-origin' },
}

/**
 * What Swagger UI needs and no more: its scripts are files under /docs/static (no inline
 * script, no eval), its bundle injects one <style> element (hence 'unsafe-inline' for
 * styles only; a hash would break with every swagger-ui release), its CSS draws icons from
 * data: URIs, and it fetches the spec and "Try it out" requests from this origin. It loads
 * no fonts. Checked in headless Chromium: the page and an expanded operation render with
 * no CSP violation (test/http/security-headers.test.ts).
 */
export const DOCS_SECURITY_HEADERS = {
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
} satisfies Omit<FastifyHelmetOptions, 'global'>

/**
 * The dashboard under /ui: its own scripts and styles only (uPlot sets element styles from
 * script, which CSP allows), API calls and event streams to this origin, and the loss
 * charts' SVG and canvas images.
 */
export const UI_SECURITY_HEADERS = {
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
} satisfies Omit<FastifyHelmetOptions, 'global'>

export default fp(
  async (app) => {
    await app.register(helmet, SECURITY_HEADERS)
  },
  { name: 'seqserve-security-headers' },
)
