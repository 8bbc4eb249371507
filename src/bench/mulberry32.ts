/**
 * mulberry32, exactly as WORKLOADS.md defines it: the shared data generator, so every engine
 * benchmarked on the standard workloads draws the same batches. Not for weights (see engine Rng).
 */
export type UniformSource = () => number

export function mulberry32(seed: number): UniformSource {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
