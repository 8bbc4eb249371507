import { Histogram, Registry } from 'prom-client'
import t from 'tap'
import { FastHistogram } from '../../../src/http/metrics/fast-histogram.js'

/**
 * FastHistogram must export exactly what prom-client's Histogram exports for the same
 * observations (prom-client is the reference), default labels included.
 */
t.test('exports the series prom-client exports, byte for byte', async (t) => {
  const bounds = [0.001, 0.01, 0.1, 1]
  const reference = new Registry()
  const ours = new Registry()
  for (const registry of [reference, ours]) registry.setDefaultLabels({ node: 'n1', role: 'all' })
  const expected = new Histogram({ name: 'latency_seconds', help: 'Latency', labelNames: ['method', 'status_code'], buckets: bounds, registers: [reference] })
  const actual = new FastHistogram('latency_seconds', 'Latency', ['method', 'status_code'], bounds, ours)
  const observations: [string, string, number][] = [['GET', '200', 0.0004], ['GET', '200', 0.02], ['POST', '400', 0.5], ['GET', '200', 3], ['GET', '200', 0.001], ['POST', '400', 0.1]]
  for (const [method, status, value] of observations) {
    expected.observe({ method, status_code: status }, value)
    actual.observe({ method, status_code: status }, value)
  }
  t.equal(await ours.metrics(), await reference.metrics())
  t.match(await ours.metrics(), /latency_seconds_bucket\{le="0\.1",node="n1",role="all",method="GET",status_code="200"\} 3/, "not vacuous: the GET series counted its three fast requests")

  ours.resetMetrics()
  reference.resetMetrics()
  t.equal(await ours.metrics(), await reference.metrics(), 'reset empties it as prom-client does')
})
