import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Limits, ServingConfig } from '../../src/config.js'
import type { JobBody } from '../../src/http/schemas/jobs.js'
import { testConfig } from './config.js'
import { startServer, type TestServer } from './server.js'
import type { LossBody } from '../../src/http/presenters/job.js'

/**
 * The service as a client sees it: a real HTTP server over a real SQLite file, with the job
 * runner's worker threads training what is submitted. Plus the client-side chores every
 * end-to-end test repeats (submit, poll until a status, read losses).
 */

export type { JobBody }

/** One point of GET /jobs/{id}/losses, as the service presents it. */
export type LossPointBody = LossBody

export interface TestService extends TestServer {
  databasePath: string
  /** POST /jobs; `job` is the parsed body when the status is 202. */
  submit(body: unknown, headers?: Record<string, string>): Promise<{ response: Response; job: JobBody }>
  /** POST /jobs and insist on 202. */
  submitOk(body: unknown, headers?: Record<string, string>): Promise<JobBody>
  getJob(id: string): Promise<JobBody>
  /** Polls GET /jobs/{id} until `until(job)` holds; throws with the last body on timeout. */
  waitForJob(id: string, until: (job: JobBody) => boolean, timeoutMs?: number): Promise<JobBody>
  /** Polls until the job has ended (succeeded, failed or cancelled). */
  waitForEnd(id: string, timeoutMs?: number): Promise<JobBody>
  losses(id: string): Promise<LossPointBody[]>
  /** GET a path and parse its JSON body, whatever the status. */
  getJson<T = unknown>(path: string): Promise<{ response: Response; body: T }>
}

export interface StartServiceOptions {
  /** Folder for the database file (one per test file: see `tempDir`). */
  dir: string
  /** Database file name inside `dir`; default: a fresh name per server. */
  file?: string
  workers?: number
  limits?: Partial<Limits>
  /** Trained models kept in memory for predict (MODEL_CACHE_SIZE). */
  modelCacheSize?: number
  /** MAX_EVENT_LOOP_DELAY_MS (0 = no load shedding). */
  maxEventLoopDelayMs?: number
  /** Inference pool, queue, batching and budget overrides. */
  serving?: Partial<ServingConfig>
  /** Start the runner (default true); false leaves submitted jobs queued forever. */
  training?: boolean
}

/** `{job: 'x', length: 5}` -> `job=x&length=5`, URL-encoded. */
export function queryString(params: Record<string, string | number>): string {
  return new URLSearchParams(Object.entries(params).map(([key, value]): [string, string] => [key, String(value)])).toString()
}

/** A temp folder removed when the (root) test ends. */
export function tempDir(t: { teardown(fn: () => unknown): void }, prefix = 'seqserve-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])
let serverCount = 0

export async function startService(
  t: { teardown(fn: () => unknown): void },
  options: StartServiceOptions,
): Promise<TestService> {
  const databasePath = join(options.dir, options.file ?? `service-${process.pid}-${++serverCount}.db`)
  const config = testConfig({
    databasePath,
    workers: options.workers ?? 2,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.modelCacheSize ? { modelCacheSize: options.modelCacheSize } : {}),
    ...(options.serving ? { serving: options.serving } : {}),
    ...(options.maxEventLoopDelayMs === undefined ? {} : { maxEventLoopDelayMs: options.maxEventLoopDelayMs }),
  })
  const server = await startServer(t, { config, training: options.training ?? true })

  const getJson = async <T>(path: string) => {
    const response = await server.fetch(path)
    return { response, body: (await response.json()) as T }
  }
  const submit = async (body: unknown, headers: Record<string, string> = {}) => {
    const response = await server.postJson('/jobs', body, headers)
    const job = (await response.json()) as JobBody
    return { response, job }
  }
  const getJob = async (id: string) => {
    const { response, body } = await getJson<JobBody>(`/jobs/${id}`)
    if (response.status !== 200) throw new Error(`GET /jobs/${id} -> ${response.status} ${JSON.stringify(body)}`)
    return body
  }
  const waitForJob = async (id: string, until: (job: JobBody) => boolean, timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const job = await getJob(id)
      if (until(job)) return job
      if (Date.now() > deadline) throw new Error(`job ${id} did not reach the awaited state in ${timeoutMs} ms: ${JSON.stringify(job)}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
  return {
    ...server,
    databasePath,
    getJson,
    submit,
    async submitOk(body, headers) {
      const { response, job } = await submit(body, headers)
      if (response.status !== 202) throw new Error(`POST /jobs -> ${response.status} ${JSON.stringify(job)}`)
      return job
    },
    getJob,
    waitForJob,
    waitForEnd: (id, timeoutMs) => waitForJob(id, (job) => FINISHED.has(job.status), timeoutMs),
    async losses(id) {
      const { response, body } = await getJson<{ losses: LossPointBody[] }>(`/jobs/${id}/losses`)
      if (response.status !== 200) throw new Error(`GET /jobs/${id}/losses -> ${response.status} ${JSON.stringify(body)}`)
      return body.losses
    },
  }
}
