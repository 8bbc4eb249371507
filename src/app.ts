import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify'
import { trains, type Config } from './config.js'
import authPlugin from './http/plugins/auth.js'
import configPlugin from './http/plugins/config.js'
import { corsPlugins } from './http/plugins/cors.js'
import errorHandlerPlugin from './http/plugins/error-handler.js'
import loadSheddingPlugin from './http/plugins/load-shedding.js'
import rateLimitsPlugin from './http/plugins/rate-limits.js'
import requestIdPlugin from './http/plugins/request-id.js'
import { answerUnknownExpectation, clientErrorHandler, frameworkErrors } from './http/protocol-errors.js'
import routeConventionsPlugin from './http/plugins/route-conventions.js'
import securityHeadersPlugin from './http/plugins/security-headers.js'
import sharedSchemasPlugin from './http/plugins/shared-schemas.js'
import swaggerPlugin from './http/plugins/swagger.js'
import routes from './http/routes/index.js'
import { buildValidator } from './http/validation/ajv.js'
import { createMetrics } from './http/metrics/metrics.js'
import metricsPlugin from './http/plugins/metrics.js'
import servicesPlugin from './http/plugins/services.js'
import { JobRunner, combineRunnerEvents } from './jobs/runner.js'
import { JobWakeups } from './jobs/wakeups.js'
import { ModelRegistry } from './models/registry.js'
import { ModelsService } from './models/service.js'
import { packageInfo } from './http/package-info.js'
import { createLogger, genReqId, type Logger } from './logger.js'
import { observeModelChanges } from './serving/model-changes.js'
import { PredictionService } from './serving/prediction-service.js'
import { storageModelSource } from './serving/storage-source.js'
import { openStorage } from './storage/open.js'
import type { Storage } from './storage/storage.js'

/** The app type routes and plugins see: TypeBox schemas give typed requests and replies. */
export type App = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface BuildAppOptions {
  config: Config
  /** Logger to use; defaults to `createLogger(config)`. `false` silences the app (tests). */
  logger?: Logger | false
  /** Storage to use; defaults to opening `config.databasePath` (migrations run). */
  storage?: Storage
  /** Create the job runner (started by main.ts or a test with `app.runner.start()`); default true. */
  training?: boolean
}

/**
 * Builds the fully wired HTTP app without side effects: no listen, no signal handlers,
 * no timers. The caller (main.ts, tests, scripts/openapi.ts) decides what to do with it.
 * The app is returned un-ready, so tests may still add routes before `listen`/`ready`.
 */
export async function buildApp(options: BuildAppOptions): Promise<App> {
  const { config } = options
  const logger = options.logger === undefined ? createLogger(config) : options.logger

  const app = Fastify({
    ...(logger ? { loggerInstance: logger } : { logger: false }),
    genReqId,
    bodyLimit: config.limits.maxBodyBytes,
    // fastify also takes a hop count; its types only list the other forms.
    trustProxy: config.trustProxy as boolean | string,
    schemaController: { compilersFactory: { buildValidator } },
    // fast-json-stringify compiles the validators of a response schema's unions (anyOf) on
    // the first response that needs them: ~0.1 s of blocked event loop on a route's first
    // request (the first GET /jobs after a start). Compile them with the routes instead.
    serializerOpts: { compileValidators: true },
    // Requests that never reach a route (malformed HTTP, unroutable URLs) still get the one
    // error shape.
    clientErrorHandler,
    frameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App
  app.server.on('checkExpectation', answerUnknownExpectation)

  // The API speaks JSON only; without fastify's text/plain parser, a text body is a clear
  // 415 instead of a string that fails validation with a confusing message.
  app.removeContentTypeParser('text/plain')

  // 1. Cross-cutting plugins (fastify-plugin: they apply to the whole app).
  await app.register(configPlugin, { config })
  await app.register(requestIdPlugin)
  await app.register(errorHandlerPlugin)
  // Protection, in the order its onRequest hooks run: headers on every response (errors
  // too), shed load before doing any work, authenticate, then (as route hooks, so after
  // the key is known) count rate limits. Routes opt in through their config:
  // `scope`, `loadShedding`, `rateLimitGroup`.
  await app.register(securityHeadersPlugin)
  // CORS_ORIGINS: before shedding and authentication, so those answers carry CORS headers too.
  const cors = corsPlugins()
  await app.register(cors.headers)
  await app.register(loadSheddingPlugin)
  await app.register(authPlugin)
  await app.register(rateLimitsPlugin)
  await app.register(sharedSchemasPlugin)
  await app.register(routeConventionsPlugin)
  await app.register(swaggerPlugin)

  // 2. Services that decorate the app, before the routes that use them. The runner is
  //    created here but only started by the caller: building the app starts no threads.
  const storage = options.storage ?? (await openStorage({ path: config.databasePath, url: config.databaseUrl }))
  let serving: PredictionService | undefined
  const metrics = createMetrics(storage, () => serving!, { node: config.nodeId, role: config.role })
  const wakeups = new JobWakeups()
  // Serving reuses what model names resolve to; registry writes here make it look again.
  const registry = new ModelRegistry(observeModelChanges(storage.models, () => serving?.modelsChanged()), (jobId) => storage.jobs.delete(jobId))
  serving = new PredictionService({
    source: storageModelSource(storage, registry),
    ...config.serving,
    cacheModels: config.modelCacheSize,
    events: metrics.servingEvents,
  })
  const runner = options.training === false || !trains(config.role) ? null : new JobRunner({
    storage,
    node: config.nodeId,
    workers: config.workers,
    nice: config.workerNice,
    leaseTtlMs: config.leaseTtlMs,
    heartbeatMs: config.heartbeatMs,
    persistRetries: { pauseMaxMs: config.storagePauseMaxMs },
    progressMs: config.progressIntervalMs,
    logger: app.log as Logger,
    events: combineRunnerEvents(metrics.runnerEvents, wakeups.runnerEvents, { finished: (_jobId, status) => { if (status === 'succeeded') serving.modelsChanged() } }),
  })
  const modelsService = new ModelsService(storage, packageInfo().version, config.exportCacheBytes)
  await app.register(servicesPlugin, { storage, runner, serving, modelsService, registry, wakeups })
  await app.register(metricsPlugin, { metrics })

  // 3. Routes, then the CORS preflight of each of their paths.
  await app.register(routes)
  await app.register(cors.preflights)

  return app
}
