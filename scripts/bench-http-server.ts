/**
 * The server side of `npm run bench:http`: seqserve (configured from the environment, as
 * main.ts does) and a bare fastify route in the same process, so the two are measured under
 * the same conditions. Prints one JSON line with both URLs when ready; exits on SIGTERM.
 * `GET <bare>/loop` answers the event loop's delay and the longest GC pause since the last
 * call, so the bench can tell a blocked event loop from a descheduled process, and the
 * process's CPU time so far (all threads), from which the bench derives CPU per request.
 */
import { PerformanceObserver, monitorEventLoopDelay } from 'node:perf_hooks'
import Fastify from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config.js'

async function main(): Promise<void> {
  const config = loadConfig()
  const app = await buildApp({ config, logger: false })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  app.runner?.start()
  await app.serving.pool.start()

  const loop = monitorEventLoopDelay({ resolution: 1 })
  loop.enable()
  let gcMaxMs = 0
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMaxMs = Math.max(gcMaxMs, entry.duration)
  }).observe({ entryTypes: ['gc'] })

  const bare = Fastify({ logger: false })
  bare.get('/bare', async () => ({ ok: true }))
  bare.get('/loop', async () => {
    const cpu = process.cpuUsage()
    const stats = { loopMaxMs: loop.max / 1e6, loopP99Ms: loop.percentile(99) / 1e6, gcMaxMs, cpuUs: cpu.user + cpu.system }
    loop.reset()
    gcMaxMs = 0
    return stats
  })
  const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 })

  process.on('SIGTERM', () => {
    void Promise.all([app.close(), bare.close()]).then(() => process.exit(0))
  })
  process.stdout.write(`${JSON.stringify({ url, bare: `${bareUrl}/bare`, loop: `${bareUrl}/loop`, workers: config.workers, predictWorkers: config.serving.workers, batchRows: config.serving.batchRows, batchDelayMs: config.serving.batchDelayMs })}\n`)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
