import os from 'node:os'

/** Facts printed with every workload so figures from different runs and engines can be compared. */
export interface BenchEnvironment {
  batch_layout: string
  threads: 1
  init: string
  node: string
  v8: string
  cpu: string
  /** Other processes compete for the 2 cores; a high figure means noisy timings. */
  load_average_1m: number
}

export function benchEnvironment(): BenchEnvironment {
  return {
    batch_layout: 'time-major [T x B] in the engine; batches generated batch-first and transposed before timing',
    threads: 1,
    init: "engine Rng(seed) drawing PyTorch's default distributions; the values are not PyTorch's (not reproducible here)",
    node: process.version,
    v8: process.versions.v8,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    load_average_1m: Math.round(os.loadavg()[0] * 100) / 100,
  }
}
