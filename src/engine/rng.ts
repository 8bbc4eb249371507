/**
 * Seeded pseudo-random numbers for weight init, data shuffling and sampling.
 *
 * Generator: xoshiro128** (Blackman & Vigna, 2018) — 128-bit state, period 2^128 - 1, passes
 * BigCrush/PractRand, and needs only 32-bit integer ops (Math.imul), so it is fast in JS.
 * Seeding: the 32-bit seed is expanded into the four state words by splitmix32 (golden-ratio
 * increment + murmur3 fmix32 finaliser), so neighbouring seeds give unrelated streams.
 *
 * The whole stream position is captured by `getState()`: the four state words plus the cached
 * Box–Muller spare, so a checkpoint restored with `setState`/`fromState` continues the exact
 * same sequence of `next`, `normal`, `int`, ... calls.
 */

const TWO_POW_32 = 4294967296
const TWO_POW_53 = 9007199254740992
const TWO_POW_26 = 67108864

/** Length of the array returned by `Rng.getState()`. */
export const RNG_STATE_LENGTH = 6

function splitmix32Step(state: number): number {
  let z = state
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
  return (z ^ (z >>> 16)) >>> 0
}

/** FNV-1a over UTF-16 code units: only used to turn `derive` labels into seed material. */
function hashLabel(label: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193)
  return h >>> 0
}

function isUint32(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < TWO_POW_32
}

export class Rng {
  private s0 = 0
  private s1 = 0
  private s2 = 0
  private s3 = 0
  private hasSpare = false
  private spare = 0

  /** `seed` is any integer in [-2^31, 2^32); it is taken modulo 2^32. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < -2147483648 || seed >= TWO_POW_32) {
      throw new RangeError(`Rng seed must be an integer in [-2^31, 2^32), got ${seed}`)
    }
    this.seedFromWords(seed >>> 0, 0)
  }

  /** Rebuild a generator from `getState()` output. */
  static fromState(state: readonly number[]): Rng {
    const rng = new Rng(0)
    rng.setState(state)
    return rng
  }

  /** Next raw 32-bit output as an unsigned integer in [0, 2^32). */
  nextUint32(): number {
    const s1 = this.s1
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform in [0, 1) with 53 random bits (two raw outputs per call). */
  next(): number {
    const hi = this.nextUint32() >>> 5 // 27 bits
    const lo = this.nextUint32() >>> 6 // 26 bits
    return (hi * TWO_POW_26 + lo) / TWO_POW_53
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next()
  }

  /**
   * Standard normal via Box–Muller. Each pair of uniforms yields two normals; the second is
   * cached (and saved in the state) so the stream is reproducible across checkpoints.
   */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false
      return this.spare
    }
    // 1 - next() lies in (0, 1], so the log is finite.
    const u1 = 1 - this.next()
    const u2 = this.next()
    const r = Math.sqrt(-2 * Math.log(u1))
    const theta = 2 * Math.PI * u2
    this.spare = r * Math.sin(theta)
    this.hasSpare = true
    return r * Math.cos(theta)
  }

  /** Unbiased uniform integer in [0, n) for an integer 1 <= n <= 2^32 (rejection sampling). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Rng.int(n) needs an integer 1 <= n <= 2^32, got ${n}`)
    }
    // Reject the top partial block of 2^32 so every residue is equally likely.
    const limit = TWO_POW_32 - (TWO_POW_32 % n)
    for (;;) {
      const x = this.nextUint32()
      if (x < limit) return x % n
    }
  }

  /** In-place Fisher–Yates shuffle; returns the same array. */
  shuffle<T extends Int32Array | number[]>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const tmp = array[i]
      array[i] = array[j]
      array[j] = tmp
    }
    return array
  }

  /**
   * Independent child generator seeded from this stream (advances this generator by four raw
   * outputs). Use it to hand a sub-task its own stream.
   */
  fork(): Rng {
    const child = new Rng(0)
    child.seedFromWords(this.nextUint32(), this.nextUint32() ^ this.nextUint32() ^ this.nextUint32())
    return child
  }

  /**
   * Child generator determined by this generator's current state and `label`, without advancing
   * this generator: the same state and label always give the same child; different labels give
   * unrelated streams (e.g. one per data-loader or per layer).
   */
  derive(label: string): Rng {
    const child = new Rng(0)
    const mixed = (this.s0 ^ rotl(this.s1, 8) ^ rotl(this.s2, 16) ^ rotl(this.s3, 24)) >>> 0
    child.seedFromWords(mixed, hashLabel(label))
    return child
  }

  /**
   * `[s0, s1, s2, s3, hasSpare (0|1), spare]` — plain numbers, JSON-safe (the spare is a finite
   * double and round-trips exactly through JSON).
   */
  getState(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.hasSpare ? 1 : 0, this.spare]
  }

  setState(state: readonly number[]): void {
    if (!Array.isArray(state) || state.length !== RNG_STATE_LENGTH) {
      throw new RangeError(`Rng state must be an array of ${RNG_STATE_LENGTH} numbers`)
    }
    const [s0, s1, s2, s3, hasSpare, spare] = state
    if (![s0, s1, s2, s3].every(isUint32)) {
      throw new RangeError('Rng state words must be integers in [0, 2^32)')
    }
    if ((s0 | s1 | s2 | s3) === 0) {
      throw new RangeError('Rng state must not be all zero (xoshiro would emit zeros forever)')
    }
    if (hasSpare !== 0 && hasSpare !== 1) throw new RangeError('Rng state flag must be 0 or 1')
    if (typeof spare !== 'number' || !Number.isFinite(spare)) {
      throw new RangeError('Rng state spare must be a finite number')
    }
    this.s0 = s0 | 0
    this.s1 = s1 | 0
    this.s2 = s2 | 0
    this.s3 = s3 | 0
    this.hasSpare = hasSpare === 1
    this.spare = spare
  }

  private seedFromWords(a: number, b: number): void {
    let sm = (a ^ Math.imul(b, 0x9e3779b1)) | 0
    const words = [0, 0, 0, 0]
    for (let i = 0; i < 4; i++) {
      sm = (sm + 0x9e3779b9) | 0
      words[i] = splitmix32Step(sm)
    }
    // splitmix32 is a bijection of its counter, so four consecutive outputs cannot all be zero;
    // the guard only documents the invariant xoshiro needs.
    if ((words[0] | words[1] | words[2] | words[3]) === 0) words[0] = 1
    this.s0 = words[0] | 0
    this.s1 = words[1] | 0
    this.s2 = words[2] | 0
    this.s3 = words[3] | 0
    this.hasSpare = false
    this.spare = 0
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
