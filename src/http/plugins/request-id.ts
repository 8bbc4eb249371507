import fp from 'fastify-plugin'
import { REQUEST_ID_HEADER } from '../../logger.js'

/**
 * Echoes the request id (see `genReqId` in logger.ts) as `x-request-id`, so a client can
 * quote it and an operator can find the matching log lines.
 */
export default fp(
  async (app) => {
    // A callback hook, not an async one: it runs on every request (no promise, no extra tick).
    app.addHook('onRequest', (request, reply, done) => {
      reply.header(REQUEST_ID_HEADER, request.id)
      done()
    })
  },
  { name: 'seqserve-request-id' },
)
