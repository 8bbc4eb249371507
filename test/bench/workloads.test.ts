import t from 'tap'
import { runW1 } from '../../src/bench/workloads/w1.js'
import { runW2 } from '../../src/bench/workloads/w2.js'
import { runW3 } from '../../src/bench/workloads/w3.js'
import { runW4 } from '../../src/bench/workloads/w4.js'
import { runGen } from '../../src/bench/workloads/gen.js'

// Smoke runs with tiny step counts: the figures are not checked (speed lives in the benchmark),
// only that every reported field is present and finite.

/** The fields that are missing or not finite numbers, with their values. */
function notFinite(result: object, fields: string[]): Record<string, unknown> {
  const bad: Record<string, unknown> = {}
  for (const field of fields) {
    const value = (result as Record<string, unknown>)[field]
    if (typeof value !== 'number' || !Number.isFinite(value)) bad[field] = value
  }
  return bad
}

t.test('W1 trains the seed task to "elloh" in the spec\'s 200 epochs', async (t) => {
  const result = runW1({ repetitions: 1 })
  t.equal(result.workload, 'W1')
  t.equal(result.epochs, 200)
  t.same(notFinite(result, ['seconds', 'seconds_median', 'final_loss']), {})
  t.equal(result.predicted, 'elloh')
  t.ok(result.final_loss < 0.05, `final loss ${result.final_loss}`)
})

t.test('W2 smoke run', async (t) => {
  const result = runW2({ warmupSteps: 1, timedSteps: 2 })
  t.equal(result.workload, 'W2')
  t.same(notFinite(result, ['tokens_per_s', 'loss_before', 'loss_after', 'seconds', 'step_ms_median']), {})
  t.equal(result.vocabulary, 76)
  // An untrained model is close to uniform over the vocabulary.
  t.ok(Math.abs(result.loss_before - Math.log(76)) < 0.5, `loss before ${result.loss_before} near ln 76`)
})

t.test('W3 smoke run', async (t) => {
  const result = runW3({ warmupSteps: 1, timedSteps: 2 })
  t.equal(result.workload, 'W3')
  t.same(notFinite(result, ['sequences_per_s', 'mse_before', 'mse_after', 'seconds', 'step_ms_median']), {})
})

t.test('W4 smoke run', async (t) => {
  const result = runW4({ forwardCalls: 3, forwardWarmup: 1, generateLength: 5, generateWarmup: 2 })
  t.equal(result.workload, 'W4')
  t.same(notFinite(result, ['forward_ms_median', 'generate_200_ms', 'generate_step_ms_median']), {})
  t.equal(result.generate_length, 5)
  t.equal(result.generated_prefix.length, 5)
})

t.test('GEN smoke run: batched and one-row generation give the same text', async (t) => {
  const result = runGen({ batches: [3], runs: 1, length: 6 })
  t.equal(result.workload, 'GEN')
  t.same(result.rows.map((r) => [r.B, r.sampling, r.same_output]), [[3, 'greedy', true], [3, 'temperature 1', true]])
})
