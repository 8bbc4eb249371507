/**
 * Process entry point: configuration, logger, app, listen, and shutdown on signals.
 * Everything else is built by buildApp, which has no side effects of its own.
 */
import { buildApp, type App } from './app.js'
import { ConfigError, loadConfig, servesApi, type Config } from './config.js'
import { createLogger } from './logger.js'
import { startupFailureLine } from './storage/open-errors.js'

function readConfigOrExit(): Config {
  try {
    return loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      // Before a logger exists; a plain line is what an operator reading a crash loop needs.
      console.error(error.message)
      process.exit(1)
    }
    throw error
  }
}

/**
 * SIGINT/SIGTERM close the app: fastify stops accepting connections, then the onClose hooks
 * have running jobs checkpoint their last finished epoch and go back to the queue, and the
 * database closes. Past `SHUTDOWN_TIMEOUT_MS` the jobs still training are requeued as they
 * stand (resuming from their previous checkpoint) and the process exits. A second signal
 * while closing exits at once.
 */
function exitOnSignals(app: App, shutdownTimeoutMs: number): void {
  let closing = false
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) {
      app.log.warn({ signal }, 'second signal while shutting down; exiting now')
      process.exit(1)
    }
    closing = true
    app.log.info({ signal, timeoutMs: shutdownTimeoutMs }, 'shutting down')
    setTimeout(async () => {
      const requeued = (await app.runner?.abandon().catch(() => 0)) ?? 0
      app.log.warn({ requeued }, `shutdown took longer than SHUTDOWN_TIMEOUT_MS=${shutdownTimeoutMs}; requeued the jobs still training and exiting`)
      process.exit(1)
    }, shutdownTimeoutMs).unref()
    app.close().then(
      () => {
        app.log.info('shut down cleanly')
        process.exit(0)
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
}

async function main(): Promise<void> {
  const config = readConfigOrExit()
  const logger = createLogger(config)
  const app = await buildApp({ config, logger })
  exitOnSignals(app, config.shutdownTimeoutMs)
  const url = await app.listen({ host: config.host, port: config.port })
  app.runner?.start()
  if (config.modelCacheSize !== undefined) {
    app.log.warn({ MODEL_CACHE_SIZE: config.modelCacheSize, MODEL_CACHE_BYTES: config.serving.modelCacheBytes }, 'MODEL_CACHE_SIZE is deprecated: the model cache is bounded by MODEL_CACHE_BYTES (bytes); the count is still honoured on top of it')
  }
  if (config.databasePathIgnored) {
    app.log.warn({ database: app.storage.location }, 'DATABASE_URL and DATABASE_PATH are both set: using DATABASE_URL (PostgreSQL); DATABASE_PATH is ignored')
  }
  const node = { role: config.role, node: config.nodeId, database: app.storage.location, dialect: app.storage.dialect }
  // Only a node that serves the API predicts: a worker node starts no inference threads.
  if (servesApi(config.role)) await app.serving.pool.start()
  const predictWorkers = servesApi(config.role) ? { predictWorkers: config.serving.workers } : {}
  if (app.runner) app.log.info({ ...node, workers: config.workers, ...predictWorkers }, 'training workers started')
  else app.log.info({ ...node, predictWorkers: config.serving.workers }, 'API node: accepting jobs and serving predictions on inference workers; training is left to worker nodes')
  app.log.info({ url, docs: `${url}/docs` }, `seqserve listening on ${url} (API docs at ${url}/docs)`)
  // Damage found at open (PRAGMA quick_check), a full disk: the service starts, serves what it
  // can and says why it is not ready.
  const health = await app.storage.checkHealth()
  if (!health.writable) app.log.error({ database: app.storage.location, reasons: health.reasons }, `the database cannot take writes: ${health.reasons.join('; ')} (/readyz answers 503 until this is fixed)`)
}

main().catch((error: unknown) => {
  // A database that cannot be used (unreadable, damaged, read-only, newer than this code):
  // one line naming it, the problem and what to do, instead of a stack trace.
  const line = startupFailureLine(error)
  console.error(line === undefined ? error : `seqserve cannot start: ${line}`)
  process.exit(1)
})
