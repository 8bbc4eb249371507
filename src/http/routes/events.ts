import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { jobEvents } from '../../jobs/job-events.js'
import { httpError } from '../errors.js'
import { contentResponse, errorResponses } from '../schemas/common.js'
import { JobIdParams } from '../schemas/jobs.js'

/** Storage is read again this often when no wake-up comes (changes made by another process). */
const POLL_MS = 1000

/**
 * GET /jobs/{id}/events: Server-Sent Events of a job (status changes, every epoch, the end),
 * read from storage and woken by the runner, so they are the same whichever process trains
 * the job. Comment lines every EVENTS_HEARTBEAT_MS keep proxies from closing an idle stream;
 * a server shutdown ends every stream (clients reconnect with Last-Event-ID).
 */
const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const streams = new Set<AbortController>()
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.abort()
  })

  app.get('/jobs/:id/events', {
    config: { scope: 'jobs:read' },
    schema: {
      operationId: 'streamJobEvents',
      summary: 'Follow a job as Server-Sent Events',
      description: 'Events `status` ({status, epoch, epochs, stopped_early, error}) and `epoch` ({epoch, epochs, loss, val_loss, lr, metrics, at, eta_seconds}), ' +
        'ending with the final `status`. Send the last `id:` seen as `Last-Event-ID` to continue without gaps or repeats. Comment lines are heartbeats.',
      tags: ['jobs'],
      params: JobIdParams,
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 64, description: 'The id of the last event received' })) }),
      response: {
        200: contentResponse('The event stream, until the job ends', {
          'text/event-stream': { schema: Type.String({ examples: ['id: 1.running\nevent: epoch\ndata: {"epoch":1,"epochs":200,"loss":1.62,"lr":0.1,"metrics":{}}\n\n'] }) },
        }),
        ...errorResponses(404),
      },
    },
  }, async (request, reply) => {
    const { id } = request.params
    if (!(await app.storage.jobs.findById(id))) throw httpError('job_not_found', `No job with id ${id}`)
    const controller = new AbortController()
    streams.add(controller)
    reply.hijack()
    const raw = reply.raw
    // Hijacked: fastify no longer sends what the hooks set (security headers, request id).
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) raw.setHeader(name, value)
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    })
    raw.write(`retry: 1000\n\n`)
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), app.config.eventsHeartbeatMs)
    request.raw.on('close', () => controller.abort())
    try {
      const events = jobEvents(id, request.headers['last-event-id'], { storage: app.storage, wakeups: app.wakeups, pollMs: POLL_MS, signal: controller.signal })
      for await (const e of events) {
        if (controller.signal.aborted) break
        raw.write(`id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
      }
    } catch (err) {
      request.log.error({ err, jobId: id }, 'event stream failed')
    } finally {
      clearInterval(heartbeat)
      streams.delete(controller)
      raw.end()
    }
  })
}

export default eventRoutes
