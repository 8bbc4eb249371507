import fp from 'fastify-plugin'
import { sharedSchemas } from '../schemas/common.js'

/**
 * Registers schemas that routes reference by `$ref` (e.g. `ErrorResponse`). They become
 * `#/components/schemas/<$id>` in the OpenAPI document.
 */
export default fp(
  async (app) => {
    for (const schema of sharedSchemas) app.addSchema(schema)
  },
  { name: 'seqserve-shared-schemas' },
)
