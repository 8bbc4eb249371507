import type { Registry } from 'prom-client'

interface Series {
  labels: Record<string, string>
  /** Observations per bucket (not cumulative). */
  counts: Float64Array
  sum: number
  count: number
}

/**
 * A Prometheus histogram for the per-request hot path. prom-client's `observe` validates and
 * hashes the label object on every call (measured 1.5-4 µs, twice per prediction: a
 * noticeable part of the seed model's GET /predict); this one finds its series by the label
 * values joined and counts into a typed array. It registers like any prom-client metric and
 * exports the same series (`_bucket` with `le`, `_sum`, `_count`) in the same order.
 */
export class FastHistogram<L extends string> {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private series = new Map<string, Series>()

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly L[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0])
  }

  observe(labels: Record<L, string>, value: number): void {
    let key = ''
    for (const name of this.labelNames) key += `${labels[name]}\u0000`
    let series = this.series.get(key)
    if (!series) {
      series = { labels: { ...labels }, counts: new Float64Array(this.bounds.length), sum: 0, count: 0 }
      this.series.set(key, series)
    }
    const bounds = this.bounds
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        series.counts[i]++
        break
      }
    }
    series.sum += value
    series.count++
  }

  reset(): void {
    this.series = new Map()
  }

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: unknown[] }> {
    const values: unknown[] = []
    const bucket = `${this.name}_bucket`
    for (const series of this.series.values()) {
      let cumulative = 0
      this.bounds.forEach((le, i) => {
        cumulative += series.counts[i]
        values.push({ labels: { le }, sharedLabels: series.labels, value: cumulative, metricName: bucket })
      })
      values.push(
        { labels: { le: '+Inf' }, sharedLabels: series.labels, value: series.count, metricName: bucket },
        { labels: {}, sharedLabels: series.labels, value: series.sum, metricName: `${this.name}_sum` },
        { labels: {}, sharedLabels: series.labels, value: series.count, metricName: `${this.name}_count` },
      )
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}
