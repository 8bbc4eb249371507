/**
 * `npm run bench -- --compare`: the side-by-side table computes each ratio the way issue 12
 * states its targets (seqserve / PyTorch for rates and for times) and names the engine per row.
 */
import t from 'tap'
import { comparisonTable } from '../../src/bench/torch-compare.js'

t.test('the comparison table: one row per figure, ratios seqserve / PyTorch', async (t) => {
  const table = comparisonTable({
    W2: { tokens_per_s: 30000, precision: 'float32', kernels: 'wasm' },
    W3: { sequences_per_s: 900, precision: 'float32', kernels: 'wasm' },
    W4: { forward_ms_median: 0.5, generate_200_ms: 5, precision: 'float64', kernels: 'js' },
  }, { W2_charlm_h128_tokens_per_s: 40000, W3_gru_ts_seq_per_s: 1000, W4_forward_1x32_median_ms: 2, W4_generate_200_chars_ms: 40 }, 1.5)
  const rows = table.split('\n').filter((l) => l.startsWith('| W'))
  t.equal(rows.length, 4)
  t.match(rows[0], /^\| W2 LSTM-128 char LM, tokens\/s \| wasm float32 \| 30,000 \| 40,000 \| 0\.75 \|$/)
  t.match(rows[1], /\| W3 GRU-64 series, seq\/s \| wasm float32 \| 900 \| 1,000 \| 0\.90 \|$/)
  t.match(rows[2], /\| W4 forward 1x32, ms \| js float64 \| 0\.500 \| 2\.000 \| 0\.25 \(time\) \|$/)
  t.match(rows[3], /\| W4 greedy 200 chars, ms \| js float64 \| 5\.00 \| 40\.00 \| 0\.13 \(time\) \|$/)
  t.match(table, /load average \(1 min\) 1\.50 before/)
})

t.test('a figure PyTorch did not report shows a dash, not a made-up ratio', async (t) => {
  const table = comparisonTable({ W3: { sequences_per_s: 900, precision: 'float32', kernels: 'wasm' } }, {}, 0)
  t.match(table, /\| W3 GRU-64 series, seq\/s \| wasm float32 \| 900 \| — \| — \|/)
})

t.test('with TensorFlow.js (--tfjs): W2 beside it, seqserve / tfjs', async (t) => {
  const table = comparisonTable({ W2: { tokens_per_s: 30000, precision: 'float32', kernels: 'wasm' } }, {}, 0,
    { tokens_per_s: 2500, engine: 'TensorFlow.js 4.22.0 wasm SIMD, 1 thread' })
  t.match(table, /W2 beside TensorFlow\.js 4\.22\.0 wasm SIMD, 1 thread: 30,000 \/ 2,500 tokens\/s = 12\.0x/)
  t.notMatch(comparisonTable({}, {}, 0, { tokens_per_s: 2500, engine: 'x' }), /beside/, 'no W2 of ours: no line')
})
