import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { testConfig } from '../helpers/config.js'
import { startServer } from '../helpers/server.js'

/**
 * WORKER_NICE and PREDICT_WORKER_NICE lower the training and inference threads below the
 * event loop (Linux keeps a nice value per thread), and leave the main thread alone. Read
 * back from the kernel: /proc/self/task/<tid>/stat, field 19.
 */
function threadNices(): Map<number, number> {
  const nices = new Map<number, number>()
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const fields = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')
      nices.set(Number(tid), Number(fields[16]))
    } catch {
      // The thread ended while we looked.
    }
  }
  return nices
}

t.test('training threads run at WORKER_NICE, inference threads at PREDICT_WORKER_NICE, the event loop at 0', async (t) => {
  const before = new Set(threadNices().values())
  t.notOk(before.has(7) || before.has(3), 'no thread of this process is reniced yet')
  const server = await startServer(t, { training: true, config: testConfig({ workers: 1, workerNice: 7, serving: { workerNice: 3 } }) })
  await server.app.serving.pool.start()
  let nices = threadNices()
  // The training thread lowers itself once its module has loaded.
  for (let i = 0; i < 600 && ![...nices.values()].includes(7); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    nices = threadNices()
  }
  const values = [...nices.values()]
  t.equal(values.filter((n) => n === 7).length, 1, 'one training thread (WORKERS=1) at nice 7')
  t.equal(values.filter((n) => n === 3).length, 1, 'one inference thread (PREDICT_WORKERS=1) at nice 3')
  t.equal(nices.get(process.pid), 0, 'the main thread keeps its priority')
})
