import t from 'tap'
import { Rng, RNG_STATE_LENGTH } from '../../src/engine/rng.js'

function draw(rng: Rng, n: number, f: (r: Rng) => number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) out.push(f(rng))
  return out
}

function mixedStream(rng: Rng, n: number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    out.push(rng.next(), rng.normal(), rng.int(1000), rng.uniform(-3, 5), rng.nextUint32())
  }
  return out
}

t.test('xoshiro128** core matches the reference C implementation', async (t) => {
  // First outputs of the authors' reference xoshiro128starstar.c started from s = {1, 2, 3, 4}.
  const rng = Rng.fromState([1, 2, 3, 4, 0, 0])
  t.same(draw(rng, 8, (r) => r.nextUint32()), [
    11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849,
  ])
})

t.test('same seed gives the same stream; different seeds differ', async (t) => {
  t.same(mixedStream(new Rng(42), 200), mixedStream(new Rng(42), 200))
  const a = draw(new Rng(1), 50, (r) => r.nextUint32())
  const b = draw(new Rng(2), 50, (r) => r.nextUint32())
  t.not(JSON.stringify(a), JSON.stringify(b))
  // Seeds are taken modulo 2^32.
  t.same(draw(new Rng(-1), 10, (r) => r.next()), draw(new Rng(0xffffffff), 10, (r) => r.next()))
})

t.test('saved state continues the exact same stream, including a cached normal spare', async (t) => {
  const rng = new Rng(7)
  mixedStream(rng, 36) // an even number of normals: no spare pending
  rng.normal() // leaves a spare cached
  const saved = rng.getState()
  t.equal(saved.length, RNG_STATE_LENGTH)
  t.equal(saved[4], 1, 'spare flag is in the state')
  const expected = mixedStream(rng, 100)

  const viaJson = Rng.fromState(JSON.parse(JSON.stringify(saved)) as number[])
  t.same(mixedStream(viaJson, 100), expected)

  const other = new Rng(999)
  other.setState(saved)
  t.same(mixedStream(other, 100), expected)
})

t.test('setState rejects malformed states', async (t) => {
  const rng = new Rng(1)
  t.throws(() => rng.setState([1, 2, 3]), RangeError)
  t.throws(() => rng.setState([0, 0, 0, 0, 0, 0]), RangeError)
  t.throws(() => rng.setState([1, 2, 3, 2 ** 32, 0, 0]), RangeError)
  t.throws(() => rng.setState([1, 2, 3, 4, 2, 0]), RangeError)
  t.throws(() => rng.setState([1, 2, 3, 4, 1, NaN]), RangeError)
  t.throws(() => new Rng(1.5), RangeError)
  t.throws(() => new Rng(2 ** 32), RangeError)
})

t.test('uniform draws have the right range, mean and variance', async (t) => {
  const rng = new Rng(123)
  const n = 200_000
  let sum = 0
  let sumSq = 0
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < n; i++) {
    const u = rng.next()
    sum += u
    sumSq += u * u
    if (u < min) min = u
    if (u > max) max = u
  }
  const mean = sum / n
  const variance = sumSq / n - mean * mean
  t.ok(min >= 0 && max < 1, `range [${min}, ${max}]`)
  // Standard error of the mean is sqrt(1/12/n) ~ 0.00065; allow ~6 sigma.
  t.ok(Math.abs(mean - 0.5) < 0.004, `mean ${mean}`)
  t.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`)

  const lo = -2
  const hi = 6
  const us = draw(rng, 10_000, (r) => r.uniform(lo, hi))
  t.ok(us.every((u) => u >= lo && u < hi))
  const uMean = us.reduce((a, b) => a + b, 0) / us.length
  t.ok(Math.abs(uMean - 2) < 0.15, `uniform(-2, 6) mean ${uMean}`)
})

t.test('normal draws have mean 0, variance 1 and a sane tail', async (t) => {
  const rng = new Rng(2024)
  const n = 200_000
  let sum = 0
  let sumSq = 0
  let beyond2 = 0
  let nonFinite = 0
  for (let i = 0; i < n; i++) {
    const z = rng.normal()
    if (!Number.isFinite(z)) nonFinite++
    sum += z
    sumSq += z * z
    if (Math.abs(z) > 2) beyond2++
  }
  t.equal(nonFinite, 0)
  const mean = sum / n
  const variance = sumSq / n - mean * mean
  t.ok(Math.abs(mean) < 0.015, `mean ${mean}`)
  t.ok(Math.abs(variance - 1) < 0.02, `variance ${variance}`)
  // P(|Z| > 2) = 0.0455
  t.ok(Math.abs(beyond2 / n - 0.0455) < 0.003, `tail fraction ${beyond2 / n}`)
})

t.test('int(n) is in range and roughly uniform', async (t) => {
  const rng = new Rng(5)
  const k = 7
  const counts = new Array<number>(k).fill(0)
  const n = 70_000
  let outOfRange = 0
  for (let i = 0; i < n; i++) {
    const x = rng.int(k)
    if (!Number.isInteger(x) || x < 0 || x >= k) outOfRange++
    else counts[x]++
  }
  t.equal(outOfRange, 0)
  // Chi-square with 6 degrees of freedom: 99.9th percentile is 22.46.
  const expected = n / k
  const chi2 = counts.reduce((acc, c) => acc + ((c - expected) * (c - expected)) / expected, 0)
  t.ok(chi2 < 22.46, `chi2 ${chi2} for counts ${counts.join(',')}`)
  t.equal(rng.int(1), 0)
  const big = rng.int(2 ** 32)
  t.ok(big >= 0 && big < 2 ** 32)
  t.throws(() => rng.int(0), RangeError)
  t.throws(() => rng.int(2.5), RangeError)
  t.throws(() => rng.int(2 ** 32 + 1), RangeError)
})

t.test('shuffle is an in-place permutation that depends on the seed', async (t) => {
  const n = 1000
  const a = Int32Array.from({ length: n }, (_, i) => i)
  const returned = new Rng(11).shuffle(a)
  t.equal(returned, a, 'shuffles in place')
  t.same(Array.from(a).sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i), 'is a permutation')
  t.ok(
    Array.from(a).some((v, i) => v !== i),
    'actually moves elements',
  )

  const plain = Array.from({ length: n }, (_, i) => i)
  new Rng(11).shuffle(plain)
  t.same(plain, Array.from(a), 'number[] and Int32Array shuffle identically for the same seed')

  const other = Array.from({ length: n }, (_, i) => i)
  new Rng(12).shuffle(other)
  t.not(JSON.stringify(other), JSON.stringify(plain))

  t.same(new Rng(1).shuffle([]), [])
  t.same(new Rng(1).shuffle([5]), [5])

  // Every position is equally likely to receive element 0 (3 elements, 6 permutations).
  const rng = new Rng(3)
  const perms = new Map<string, number>()
  for (let i = 0; i < 60_000; i++) {
    const key = rng.shuffle([0, 1, 2]).join('')
    perms.set(key, (perms.get(key) ?? 0) + 1)
  }
  t.equal(perms.size, 6)
  for (const [key, count] of perms) t.ok(Math.abs(count - 10_000) < 500, `perm ${key}: ${count}`)
})

t.test('fork and derive give reproducible, independent child streams', async (t) => {
  const parentA = new Rng(77)
  const parentB = new Rng(77)
  const childA = parentA.fork()
  const childB = parentB.fork()
  t.same(draw(childA, 20, (r) => r.nextUint32()), draw(childB, 20, (r) => r.nextUint32()))
  t.same(draw(parentA, 20, (r) => r.nextUint32()), draw(parentB, 20, (r) => r.nextUint32()))
  const child = new Rng(77).fork()
  const parentStream = draw(new Rng(77), 24, (r) => r.nextUint32()).slice(4)
  t.not(JSON.stringify(draw(child, 20, (r) => r.nextUint32())), JSON.stringify(parentStream))

  const base = new Rng(8)
  const before = base.getState()
  const x1 = draw(base.derive('data'), 10, (r) => r.next())
  const x2 = draw(base.derive('data'), 10, (r) => r.next())
  const y = draw(base.derive('init'), 10, (r) => r.next())
  t.same(base.getState(), before, 'derive does not advance the parent')
  t.same(x1, x2)
  t.not(JSON.stringify(x1), JSON.stringify(y))
})
