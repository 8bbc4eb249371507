import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { CharBatchStream, idsToTimeMajor } from '../../src/bench/char-batches.js'
import { buildCorpus, defaultCorpusPath, loadCorpus } from '../../src/bench/corpus.js'
import { mulberry32 } from '../../src/bench/mulberry32.js'
import { SineBatchStream } from '../../src/bench/sine-batches.js'
import { seedTaskIds } from '../../src/bench/workloads/w1.js'

// Expected values below were computed outside JS, with Python's unbounded integers masked to
// 32 bits step by step from the formulas in shared/bench/WORKLOADS.md.

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

function draws(seed: number, n: number): number[] {
  const r = mulberry32(seed)
  return Array.from({ length: n }, () => r())
}

t.test('mulberry32 follows the spec', async (t) => {
  // Seed 0 by hand: a = 0x6D2B79F5 = 1831565813; t = imul(a ^ a>>>15, a|1) = 4269581823;
  // t ^= t + imul(t ^ t>>>7, t|61) -> 1144366260; (t ^ t>>>14) >>> 0 = 1144304738; / 2^32.
  t.equal(draws(0, 1)[0], 1144304738 / 4294967296)
  t.same(draws(0, 4), [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111])
  t.same(draws(1234, 4), [0.07329497812315822, 0.7034119898453355, 0.9028560190927237, 0.9705493662040681])
  t.same(draws(42, 2), [0.6011037519201636, 0.44829055899754167])
  t.same(draws(-1, 3), draws(0xffffffff, 3), 'the seed is taken as uint32')
  for (const x of draws(7, 1000)) t.ok(x >= 0 && x < 1, 'in [0, 1)')
})

t.test('vocabulary: unique characters sorted by UTF-16 code unit', async (t) => {
  const small = buildCorpus('hello aB')
  t.same(small.vocabulary, [' ', 'B', 'a', 'e', 'h', 'l', 'o'], 'code-unit order, not locale order')
  t.same(Array.from(small.ids), [4, 3, 5, 5, 6, 0, 2, 1])

  const corpus = loadCorpus()
  t.equal(corpus.text.length, 35149)
  t.equal(corpus.vocabulary.length, 76)
  t.equal(corpus.vocabulary[0], '\n')
  t.equal(corpus.vocabulary[75], 'z')
  t.equal(corpus.ids.length, 35149)
  for (let i = 0; i < corpus.text.length; i += 997) t.equal(corpus.vocabulary[corpus.ids[i]], corpus.text[i])
})

t.test('corpus path: the copy in src/bench by default, overridable by env', async (t) => {
  t.equal(defaultCorpusPath({}), path.resolve(repoRoot, 'src/bench/corpus.txt'))
  const shared = path.resolve(repoRoot, '../shared/bench/corpus.txt')
  if (fs.existsSync(shared)) t.ok(fs.readFileSync(shared).equals(fs.readFileSync(defaultCorpusPath({}))), 'the copy equals the shared corpus')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqserve-bench-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const file = path.join(dir, 'tiny.txt')
  fs.writeFileSync(file, 'abcab')
  t.equal(defaultCorpusPath({ SEQSERVE_BENCH_CORPUS: file }), file)
  t.same(loadCorpus(defaultCorpusPath({ SEQSERVE_BENCH_CORPUS: file })).vocabulary, ['a', 'b', 'c'])
})

t.test('W1 ids: the later "l" wins its slot', async (t) => {
  t.same(Array.from(seedTaskIds('hello')), [0, 1, 3, 3, 4])
  t.same(Array.from(seedTaskIds('elloh')), [1, 3, 3, 4, 0])
  t.throws(() => seedTaskIds('help'), RangeError)
})

t.test('character batches: window starts from the stream, target shifted by one', async (t) => {
  const corpus = loadCorpus()
  const stream = new CharBatchStream(corpus.ids, 32, 32, 1234)
  const expectStarts = (batch: { inputs: Int32Array; targets: Int32Array }, starts: number[]) => {
    starts.forEach((s, b) => {
      t.same(Array.from(batch.inputs.subarray(b * 32, b * 32 + 32)), Array.from(corpus.ids.subarray(s, s + 32)))
      t.same(Array.from(batch.targets.subarray(b * 32, b * 32 + 32)), Array.from(corpus.ids.subarray(s + 1, s + 33)))
    })
  }
  const first = stream.next()
  t.equal(first.inputs.length, 32 * 32)
  expectStarts(first, [2573, 24701, 31704, 34081])
  const text = Array.from(first.inputs.subarray(0, 32), (id) => corpus.vocabulary[id]).join('')
  t.equal(text, 'the manufacturer\ncan do so.  Thi')
  expectStarts(stream.next(), [18652, 11388, 23986])

  const w4 = new CharBatchStream(corpus.ids, 32, 1, 99).next()
  t.equal(Array.from(w4.inputs, (id) => corpus.vocabulary[id]).join(''), 'f an effective technological\nmea')
})

t.test('idsToTimeMajor transposes [B x T] to rows t*B + b', async (t) => {
  const batchFirst = Int32Array.from([10, 11, 12, 20, 21, 22]) // B = 2, T = 3
  t.same(Array.from(idsToTimeMajor(new Int32Array(6), batchFirst, 2, 3)), [10, 20, 11, 21, 12, 22])
})

t.test('sine batches: t0 first, then T+1 Box-Muller Gaussians per sequence', async (t) => {
  const batch = new SineBatchStream(50, 16, 4321).next()
  t.equal(batch.inputs.length, 16 * 50)
  t.equal(batch.targets.length, 16)
  const close = (a: number, b: number, what: string) => t.ok(Math.abs(a - b) <= 1e-12, `${what}: ${a} vs ${b}`)
  close(batch.inputs[0], 0.7626179384891714, 'seq 0 v_0')
  close(batch.inputs[1], 0.6483303794348824, 'seq 0 v_1')
  close(batch.inputs[2], 0.6417388131428556, 'seq 0 v_2')
  close(batch.targets[0], 1.0135613193851087, 'seq 0 target v_50')
  close(batch.inputs[50], -0.7340236367481632, 'seq 1 v_0')
  t.same(new SineBatchStream(50, 16, 4321).take(2)[1], new SineBatchStream(50, 16, 4321).take(2)[1], 'deterministic')
})
