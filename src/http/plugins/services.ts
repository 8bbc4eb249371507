import fp from 'fastify-plugin'
import type { JobRunner } from '../../jobs/runner.js'
import type { PredictionService } from '../../serving/prediction-service.js'
import type { Storage } from '../../storage/storage.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** Repositories and the multi-table writes (`storage.jobs`, `.checkpoints`, `.losses`). */
    storage: Storage
    /** Trains queued jobs; null when this app only serves (e.g. the OpenAPI generator). */
    runner: JobRunner | null
    /** Predictions over the inference worker pool. */
    serving: PredictionService
  }
}

export interface ServicesPluginOptions {
  storage: Storage
  runner: JobRunner | null
  serving: PredictionService
}

/**
 * Decorates the app with its services and closes them with it: running jobs checkpoint
 * and return to the queue, and the inference workers stop, before the database closes.
 */
export default fp<ServicesPluginOptions>(
  async (app, { storage, runner, serving }) => {
    app.decorate('storage', storage)
    app.decorate('runner', runner)
    app.decorate('serving', serving)
    app.addHook('onClose', async () => {
      if (runner) await runner.stop()
      await serving.close()
      await storage.close()
    })
  },
  { name: 'seqserve-services' },
)
