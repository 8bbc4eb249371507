import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { allJobEvents } from '../../jobs/all-job-events.js'
import { jobEvents, type JobEvent } from '../../jobs/job-events.js'
import { httpError } from '../errors.js'
import { StrictObject, contentResponse, errorResponses } from '../schemas/common.js'
import { JobIdParams } from '../schemas/jobs.js'

/** Storage is read again this often when no wake-up comes (changes made by another process). */
const POLL_MS = 1000

const EVENT_FIELDS = 'Events `status` ({status, epoch, epochs, stopped_early, error}), `epoch` ({epoch, epochs, loss, val_loss, lr, metrics, at, eta_seconds, tokens_per_second}) ' +
  'and, within long epochs, `progress` ({epoch, epochs, batch, batches, tokens_per_second, at}; every PROGRESS_INTERVAL_MS of training, without an id: never replayed)'

/** Only the stream of one job, from the node training it. */
const STORAGE_WAIT_EVENT = 'When the job begins or stops waiting for its database (full disk, read-only or unreachable), `storage_wait` ({storage_wait}: as in GET /jobs/{id}, null once it goes on; without an id) on the node training it'

/**
 * GET /jobs/{id}/events and GET /events: Server-Sent Events of one job or of all jobs
 * (status changes, every epoch, progress inside epochs, the end), read from storage and
 * woken by the runner, so they are the same whichever process trains the job. Comment lines
 * every EVENTS_HEARTBEAT_MS keep proxies from closing an idle stream; a server shutdown
 * ends every stream (clients reconnect with Last-Event-ID).
 */
const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const streams = new Set<AbortController>()
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.abort()
  })

  /** Writes `events` to the hijacked response until they end, the client leaves or the server closes. */
  async function stream(request: FastifyRequest, reply: FastifyReply, open: (signal: AbortSignal) => AsyncGenerator<JobEvent>): Promise<void> {
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
      for await (const e of open(controller.signal)) {
        if (controller.signal.aborted) break
        raw.write(`${e.id === null ? '' : `id: ${e.id}\n`}event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
      }
    } catch (err) {
      request.log.error({ err }, 'event stream failed')
    } finally {
      clearInterval(heartbeat)
      streams.delete(controller)
      raw.end()
    }
  }
  const options = (signal: AbortSignal) => ({ storage: app.storage, wakeups: app.wakeups, pollMs: POLL_MS, signal, storageWaits: (jobId: string) => app.runner?.storageWait(jobId) })

  app.get('/jobs/:id/events', {
    config: { scope: 'jobs:read' },
    schema: {
      operationId: 'streamJobEvents',
      summary: 'Follow a job as Server-Sent Events',
      description: `${EVENT_FIELDS}. ${STORAGE_WAIT_EVENT}; ending with the final \`status\`. Send the last \`id:\` seen as \`Last-Event-ID\` to continue without gaps or repeats. Comment lines are heartbeats.`,
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
    await stream(request, reply, (signal) => jobEvents(id, request.headers['last-event-id'], options(signal)))
  })

  app.get('/events', {
    config: { scope: 'jobs:read' },
    schema: {
      operationId: 'streamEvents',
      summary: 'Follow every job (or the jobs of one name) as Server-Sent Events',
      description: `The events of GET /jobs/{id}/events for every job, each with \`job\` (its id) and \`name\`: ${EVENT_FIELDS}. ` +
        'A new stream starts at the present (queued and running jobs from their current status, jobs queued later from their start) and never ends on its own (unless `catch_up`). ' +
        'Each id is the position of the whole stream: send the last one as `Last-Event-ID` to continue every job without gaps or repeats.',
      tags: ['jobs'],
      querystring: StrictObject({
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Only jobs of this name' })),
        catch_up: Type.Boolean({ default: false, description: 'End the stream once every pending event is sent instead of following (to poll with Last-Event-ID)' }),
      }),
      headers: Type.Object({ 'last-event-id': Type.Optional(Type.String({ maxLength: 16384, description: 'The id of the last event received' })) }),
      response: {
        200: contentResponse('The event stream', {
          'text/event-stream': { schema: Type.String({ examples: ['id: 12~4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a:1.running\nevent: epoch\ndata: {"job":"4f6c1c8e-5c1b-4b55-9a55-5a6c1f0f2b7a","name":"greeter","epoch":1,"epochs":200,"loss":1.62,"lr":0.1,"metrics":{}}\n\n'] }) },
        }),
        ...errorResponses(400),
      },
    },
  }, async (request, reply) => {
    await stream(request, reply, (signal) => allJobEvents(request.query.name, request.headers['last-event-id'], { ...options(signal), catchUp: request.query.catch_up }))
  })
}

export default eventRoutes
