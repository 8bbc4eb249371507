/**
 * Shared helpers for the engine tests: where the PyTorch reference file lives, seeded random
 * tensors, a recurrent stack under a random linear probe loss, and central finite differences.
 */
import { readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import type { Floats } from '../../src/engine/backend/types.js'
import { Parameters } from '../../src/engine/params.js'
import { type RecurrentConfig, recurrentParamSpecs } from '../../src/engine/recurrent/config.js'
import { Recurrent, type RecurrentBatch } from '../../src/engine/recurrent/recurrent.js'
import { Rng } from '../../src/engine/rng.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')

/** The copy of the shared PyTorch reference file kept in the repo (test/fixtures/README.md). */
export const VENDORED_FIXTURE = resolve(REPO_ROOT, 'test/fixtures/torch_reference.json')
/** The project's shared original, beside the repo when this checkout has it. */
export const SHARED_FIXTURE = resolve(REPO_ROOT, '../shared/fixtures/torch_reference.json')

/**
 * The PyTorch reference file: `SEQSERVE_FIXTURES` (the file itself or its folder) when set,
 * else the copy in test/fixtures.
 */
export function fixturePath(): string {
  const env = process.env.SEQSERVE_FIXTURES
  if (!env) return VENDORED_FIXTURE
  const path = resolve(env)
  return statSync(path).isDirectory() ? join(path, 'torch_reference.json') : path
}

/** The reference file's JSON (see fixturePath). */
export function loadReference(): Record<string, unknown> {
  return JSON.parse(readFileSync(fixturePath(), 'utf8')) as Record<string, unknown>
}

/** Uniform values in [-scale, scale). */
export function randomArray(rng: Rng, n: number, scale = 1): Float64Array {
  const out = new Float64Array(n)
  for (let i = 0; i < n; i++) out[i] = rng.uniform(-scale, scale)
  return out
}

export function recurrentConfig(overrides: Partial<RecurrentConfig> & Pick<RecurrentConfig, 'mode'>): RecurrentConfig {
  return { inputSize: 3, hiddenSize: 4, numLayers: 1, bidirectional: false, projSize: 0, dropout: 0, ...overrides }
}

export function describeConfig(c: RecurrentConfig): string {
  const parts = [c.mode, `L=${c.numLayers}`, c.bidirectional ? 'bidirectional' : 'unidirectional']
  if (c.projSize > 0) parts.push(`proj=${c.projSize}`)
  if (c.dropout > 0) parts.push(`dropout=${c.dropout}`)
  return parts.join(' ')
}

/** Number of h values ([L*D x B x H_out]) and c values ([L*D x B x H], LSTM only) of a batch. */
export function stateSizes(rnn: Recurrent, B: number): { h: number; c: number } {
  const states = rnn.config.numLayers * rnn.D * B
  return { h: states * rnn.Hout, c: rnn.config.mode === 'lstm' ? states * rnn.config.hiddenSize : 0 }
}

/** A recurrent stack with its own parameters, all drawn from U(-scale, scale) with `seed`. */
export function createRecurrent(config: RecurrentConfig, seed: number, scale = 0.5): { params: Parameters; rnn: Recurrent } {
  const params = new Parameters(recurrentParamSpecs(config))
  params.data.set(randomArray(new Rng(seed), params.size, scale))
  return { params, rnn: new Recurrent(config, params) }
}

/** Everything one forward call needs besides the stack (time-major, row t*B + b). */
export type ProbeBatch = Omit<RecurrentBatch, 'training' | 'rng'> & {
  training?: boolean
  /** Called before every forward, so finite differences can replay the same dropout masks. */
  rng?: () => Rng | null
}

/**
 * The scalar loss PyTorch's reference cells use:
 * L = sum(output * gOut) + sum(h_n * gH) [+ sum(c_n * gC)], with fixed random weights.
 * Its gradient w.r.t. output / h_n / c_n is the weights themselves, so `backward` feeds them in.
 * gOut is random at padded positions too: they must add nothing.
 */
export class LinearProbe {
  readonly gOut: Float64Array
  readonly gH: Float64Array
  readonly gC: Float64Array | null

  constructor(readonly rnn: Recurrent, readonly batch: ProbeBatch, seed: number) {
    const rng = new Rng(seed)
    const sizes = stateSizes(rnn, batch.B)
    this.gOut = randomArray(rng, batch.T * batch.B * rnn.outputWidth)
    this.gH = randomArray(rng, sizes.h)
    this.gC = sizes.c > 0 ? randomArray(rng, sizes.c) : null
  }

  forward(): Floats {
    const b = this.batch
    return this.rnn.forward({
      T: b.T, B: b.B, input: b.input, lengths: b.lengths, h0: b.h0, c0: b.c0,
      training: b.training ?? false, rng: b.rng ? b.rng() : null,
    })
  }

  loss(): number {
    const out = this.forward()
    let sum = dot(out, this.gOut, this.gOut.length)
    sum += dot(this.rnn.hN, this.gH, this.gH.length)
    if (this.gC) sum += dot(this.rnn.cN, this.gC, this.gC.length)
    return sum
  }

  /** Forward + backward from zeroed gradients; returns copies of d loss / d (x, h0, c0). */
  gradients(): { dx: Floats | null; dH0: Floats; dC0: Floats | null } {
    this.forward()
    const sizes = stateSizes(this.rnn, this.batch.B)
    const dx = this.rnn.backward(this.gOut, this.gH, this.gC, true)
    const inputSize = this.rnn.config.inputSize
    return {
      dx: dx ? dx.slice(0, this.batch.T * this.batch.B * inputSize) : null,
      dH0: this.rnn.dH0.slice(0, sizes.h),
      dC0: sizes.c > 0 ? this.rnn.dC0.slice(0, sizes.c) : null,
    }
  }
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, n: number): number {
  let s = 0
  for (let i = 0; i < n; i++) s += a[i] * b[i]
  return s
}

/** Central difference (L(v + eps) - L(v - eps)) / 2eps of `loss` w.r.t. values[index]; restores the value. */
export function centralDifference(values: Floats, index: number, loss: () => number, eps: number): number {
  const saved = values[index]
  values[index] = saved + eps
  const plus = loss()
  values[index] = saved - eps
  const minus = loss()
  values[index] = saved
  return (plus - minus) / (2 * eps)
}

/** Up to `max` distinct indices of [0, n), sorted; all of them when n <= max. */
export function sampleIndices(n: number, max: number, rng: Rng): number[] {
  const all = Array.from({ length: n }, (_, i) => i)
  if (n <= max) return all
  return rng.shuffle(all).slice(0, max).sort((a, b) => a - b)
}

export interface GradCheckOptions {
  /** Step of the central difference. */
  eps?: number
  /** Largest accepted |analytic - numeric| / max(floor, |analytic|, |numeric|). */
  tolerance?: number
  /** Gradients smaller than this are compared absolutely (relative error of ~0 is noise). */
  floor?: number
  indices?: number[]
}

/*
 * Defaults, for losses of order 1..10 in float64: the truncation error of a central difference
 * is ~eps^2 * |L'''| ~ 1e-12 and the rounding error ~ulp(L) / eps ~ 1e-15 / 1e-6 = 1e-9, so an
 * exact gradient scores below ~1e-7 after dividing by max(1e-2, |g|); a wrong term (a missing
 * mask, a transposed weight) scores 1e-3 or more.
 */
const DEFAULT_EPS = 1e-6
const DEFAULT_TOLERANCE = 1e-6
const DEFAULT_FLOOR = 1e-2

/**
 * Compares an analytic gradient with central differences at `indices` (default: all) and makes
 * one assertion with the worst error. Also asserts the numeric gradient is not all ~0, so the
 * check cannot pass vacuously (a loss that ignores these values) unless `allowZero`.
 */
export function gradCheck(
  t: Test, label: string, values: Floats, analytic: ArrayLike<number>, loss: () => number,
  options: GradCheckOptions & { allowZero?: boolean } = {},
): number {
  const eps = options.eps ?? DEFAULT_EPS
  const tolerance = options.tolerance ?? DEFAULT_TOLERANCE
  const floor = options.floor ?? DEFAULT_FLOOR
  const indices = options.indices ?? Array.from({ length: values.length }, (_, i) => i)
  let worst = 0
  let worstAt = -1
  let worstPair: [number, number] = [0, 0]
  let largest = 0
  for (const i of indices) {
    const numeric = centralDifference(values, i, loss, eps)
    const a = analytic[i]
    const err = Math.abs(a - numeric) / Math.max(floor, Math.abs(a), Math.abs(numeric))
    largest = Math.max(largest, Math.abs(numeric))
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err
      worstAt = i
      worstPair = [a, numeric]
    }
  }
  t.ok(worst <= tolerance, `${label}: ${indices.length} entries, worst error ${worst.toExponential(2)}` +
    (worst > tolerance ? ` at [${worstAt}] analytic ${worstPair[0]} vs numeric ${worstPair[1]}` : ''))
  // 1e-6 is a thousand times the differencing noise (~1e-9).
  if (!options.allowZero) t.ok(largest > 1e-6, `${label}: the loss depends on these values (max |dL| ${largest.toExponential(2)})`)
  return worst
}

/** One assertion: |a - b| <= tol * max(1, |b|) everywhere (and equal lengths). */
export function assertClose(t: Test, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, label: string): void {
  if (ours.length !== ref.length) {
    t.fail(`${label}: length ${ours.length} != ${ref.length}`)
    return
  }
  let worst = 0
  let worstAt = -1
  for (let i = 0; i < ref.length; i++) {
    const err = Math.abs(ours[i] - ref[i]) / Math.max(1, Math.abs(ref[i]))
    if (!(err <= worst)) {
      worst = Number.isNaN(err) ? Infinity : err
      worstAt = i
    }
  }
  t.ok(worst <= tol, `${label}: worst scaled error ${worst.toExponential(2)}` +
    (worst > tol ? ` at [${worstAt}]: ${ours[worstAt]} vs ${ref[worstAt]}` : ''))
}
