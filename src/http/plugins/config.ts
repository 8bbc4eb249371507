import fp from 'fastify-plugin'
import type { Config } from '../../config.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated service configuration (limits live in `config.limits`). */
    config: Config
  }
}

export interface ConfigPluginOptions {
  config: Config
}

/** Decorates `app.config` so plugins and routes read settings without importing env. */
export default fp<ConfigPluginOptions>(
  async (app, { config }) => {
    app.decorate('config', config)
  },
  { name: 'seqserve-config' },
)
