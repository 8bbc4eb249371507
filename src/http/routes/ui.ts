import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RouteOptions } from 'fastify'
import { PUBLIC } from '../auth/scopes.js'
import { findProjectRoot } from '../package-info.js'
import { UI_SECURITY_HEADERS } from '../plugins/security-headers.js'

/** The dashboard's files: plain ES modules and CSS, shipped as they are (no build step). */
export function uiRoot(): string {
  return join(findProjectRoot(), 'ui')
}

/** uPlot's distribution folder in node_modules (a dependency, so it is in the image too). */
function uplotDist(): string {
  return dirname(createRequire(import.meta.url).resolve('uplot'))
}

/**
 * The web dashboard at /ui (and `/` redirects there). Like the Swagger UI under /docs, its
 * files are public and hidden from the OpenAPI document (they are not API operations): the
 * page loads without a key and its scripts send the key the user enters to the API. Pages
 * get a CSP that lets their own scripts run and nothing else.
 */
const uiRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.addHook('onRoute', (route: RouteOptions) => {
    route.config = { ...route.config, scope: PUBLIC, helmet: UI_SECURITY_HEADERS } as RouteOptions['config']
  })
  await app.register(fastifyStatic, { root: uiRoot(), prefix: '/ui/', index: ['index.html'], decorateReply: false, cacheControl: false })
  // Only the two files the pages load, not the rest of the package.
  await app.register(fastifyStatic, { root: uplotDist(), prefix: '/ui/vendor/uplot/', decorateReply: false, allowedPath: (path) => path === '/uPlot.esm.js' || path === '/uPlot.min.css', maxAge: '1h' })
  const toDashboard = { schema: { hide: true } }
  app.get('/', toDashboard, async (_request, reply) => reply.redirect('/ui/', 302))
  app.get('/ui', toDashboard, async (_request, reply) => reply.redirect('/ui/', 301))
}

export default uiRoutes
