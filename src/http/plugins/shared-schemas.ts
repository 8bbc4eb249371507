import fp from 'fastify-plugin'
import { sharedSchemas } from '../schemas/common.js'
import { jobResponse } from '../schemas/jobs.js'

/**
 * Registers schemas that routes reference by `$ref` (e.g. `ErrorResponse`). They become
 * `#/components/schemas/<$id>` in the OpenAPI document.
 */
export default fp(
  async (app) => {
    for (const schema of [...sharedSchemas, jobResponse(app.config.limits)]) app.addSchema(schema)
  },
  { name: 'seqserve-shared-schemas', dependencies: ['seqserve-config'] },
)
