import fp from 'fastify-plugin'
import type { JobRunner } from '../../jobs/runner.js'
import type { PredictionService } from '../../serving/prediction-service.js'
import type { ModelRegistry } from '../../models/registry.js'
import type { ModelsService } from '../../models/service.js'
import type { Storage } from '../../storage/storage.js'
import type { JobWakeups } from '../../jobs/wakeups.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Repositories and the multi-table writes (`storage.jobs`, `.checkpoints`, `.losses`). */
    storage: Storage
    /** Trains queued jobs; null when this app only serves (e.g. the OpenAPI generator). */
    runner: JobRunner | null
    /** Predictions over the inference worker pool. */
    serving: PredictionService
    /** Model cards and exports (src/models). */
    modelsService: ModelsService
    /** Model versions and aliases (src/models/registry.ts). */
    registry: ModelRegistry
    /** Tells event streams to read storage again (GET /jobs/{id}/events). */
    wakeups: JobWakeups
  }
}

export interface ServicesPluginOptions {
  storage: Storage
  runner: JobRunner | null
  serving: PredictionService
  modelsService: ModelsService
  registry: ModelRegistry
  wakeups: JobWakeups
}

/**
 * Decorates the app with its services and closes them with it: running jobs checkpoint
 * and return to the queue, and the inference workers stop, before the database closes.
 */
export default fp<ServicesPluginOptions>(
  async (app, { storage, runner, serving, modelsService, registry, wakeups }) => {
    app.decorate('storage', storage)
    app.decorate('runner', runner)
    app.decorate('serving', serving)
    app.decorate('modelsService', modelsService)
    app.decorate('registry', registry)
    app.decorate('wakeups', wakeups)
    app.addHook('onClose', async () => {
      if (runner) await runner.stop()
      await serving.close()
      await storage.close()
    })
  },
  { name: 'seqserve-services' },
)
