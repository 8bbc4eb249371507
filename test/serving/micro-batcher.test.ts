import t from 'tap'
import type { InferenceBatch } from '../../src/pool/inference-pool.js'
import type { InferenceOutputs } from '../../src/pool/inference-protocol.js'
import { MicroBatcher } from '../../src/serving/micro-batcher.js'

/**
 * The batcher's hold: a free worker waits (up to PREDICT_BATCH_DELAY_MS) for as many rows as
 * the model recently had in the service, so clients coming back from one batch join the rows
 * still waiting instead of splitting into two alternating half-batches; a lone client is
 * never held. Driven by hand, as the inference pool drives it: `take()` when a worker is free,
 * and again whenever the batcher calls its wake-up.
 */

const MODEL = { stepCost: 1, headCost: 1, stepBytes: 1 }
const BUDGET = { maxCost: 1e12, maxMemoryBytes: 1e12 }
const HOUR = 3_600_000

function batcher(delayMs: number) {
  const wakes: Array<() => void> = []
  const b = new MicroBatcher({ maxRows: 32, delayMs, maxPending: 100, budget: BUDGET })
  b.attach(() => wakes.splice(0).forEach((wake) => wake()))
  const submit = (jobId = 'poet') => b.submit({ jobId, rows: { kind: 'pairs', inputs: ['ab'] }, shapes: [{ steps: 2, promptSteps: 2, heads: 2 }], model: MODEL, deadline: Date.now() + HOUR })
  /** Resolves at the batcher's next wake-up (a request arrived, or a hold ended). */
  const woken = () => new Promise<void>((resolve) => wakes.push(resolve))
  return { b, submit, woken }
}

/** Answers a batch as a worker would: one output per row. */
function answer(batch: InferenceBatch): void {
  const inputs = (batch.rows as { inputs: string[] }).inputs
  batch.resolve({ kind: 'pairs', outputs: inputs.map((input) => input.toUpperCase()) } as InferenceOutputs)
}

t.test('a lone client is never held, however long the delay', async (t) => {
  const { b, submit } = batcher(HOUR)
  for (let i = 0; i < 3; i++) {
    const answered = submit()
    const batch = b.take()
    t.ok(batch, `request ${i + 1} taken at once`)
    answer(batch!)
    t.same(await answered, { kind: 'pairs', outputs: ['AB'] })
  }
})

t.test('clients back from a batch are waited for, and join the rows already waiting', async (t) => {
  const { b, submit } = batcher(HOUR)
  // Four clients: a batch of 3 runs while the fourth arrives.
  const first = [submit(), submit(), submit()]
  const running = b.take()!
  t.equal((running.rows as { inputs: string[] }).inputs.length, 3)
  const fourth = submit()
  answer(running)
  await Promise.all(first)
  // The worker is free; one row waits but four were in the service: hold for the other three.
  t.equal(b.take(), undefined, 'the waiting row is held for the clients of the finished batch')
  const back = [submit(), submit()]
  t.equal(b.take(), undefined, 'still one short')
  back.push(submit())
  const merged = b.take()
  t.ok(merged, 'all four together')
  t.equal((merged!.rows as { inputs: string[] }).inputs.length, 4)
  answer(merged!)
  t.equal((await Promise.all([fourth, ...back])).length, 4)
})

t.test('the hold ends after the delay, and the expectation follows the load down', async (t) => {
  const { b, submit, woken } = batcher(30)
  const pair = [submit(), submit()]
  const batch = b.take()!
  answer(batch)
  await Promise.all(pair)
  // Only one of the two clients comes back.
  const alone = submit()
  t.equal(b.take(), undefined, 'held for the second client')
  let late: InferenceBatch | undefined
  while (!late) {
    await woken()
    late = b.take()
  }
  t.equal((late.rows as { inputs: string[] }).inputs.length, 1, 'taken alone once the delay passed')
  answer(late)
  await alone
  const next = submit()
  const prompt = b.take()
  t.ok(prompt, 'the next lone request is not held: the model now expects one row')
  answer(prompt!)
  await next
})

t.test('rows of another model do not count toward a model\'s company', async (t) => {
  const { b, submit } = batcher(HOUR)
  const many = [submit('poet'), submit('poet'), submit('poet')]
  const poets = b.take()!
  answer(poets)
  await Promise.all(many)
  const other = submit('greeter')
  const greeter = b.take()
  t.ok(greeter, 'a lone request of another model is taken at once')
  t.equal(greeter!.jobId, 'greeter')
  answer(greeter!)
  await other
})
