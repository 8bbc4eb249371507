/**
 * `npm run bench -- [W1|W2|W3|W4|GEN|all] [--precision float32|float64] [--kernels wasm|js] [--compare] [--tfjs]`:
 * the standard engine workloads of ../shared/bench/WORKLOADS.md, one JSON line per workload on
 * stdout, each naming the kernel set and precision it ran on (default: a job's defaults).
 * --compare also runs ../shared/bench/torch_bench.py (PyTorch, one thread) in the same run and
 * prints both side by side with the ratios. --tfjs also trains W2 on TensorFlow.js 4.22's
 * WebAssembly backend (one thread; ~1-2 minutes) and adds it to the table.
 * GEN (not part of `all`) times batched text generation: 100 characters for B = 8, 16, 32 prompts in
 * one batched call versus B single-row calls, on an LSTM-256 (rows/s of both and the ratio), and
 * the ceiling of 128-bit WebAssembly SIMD here (src/bench/simd-peak.ts), which bounds that ratio.
 * The corpus is ../shared/bench/corpus.txt unless $SEQSERVE_BENCH_CORPUS names another file.
 */
import os from 'node:os'
import { loadCorpus, type Corpus } from '../src/bench/corpus.js'
import { engineChoice, engineFields } from '../src/bench/engine-choice.js'
import { benchEnvironment } from '../src/bench/environment.js'
import { runTfjsW2 } from '../src/bench/tfjs-w2.js'
import { comparisonTable, type OurFigures, runTorchBench } from '../src/bench/torch-compare.js'
import { runW1 } from '../src/bench/workloads/w1.js'
import { runW2 } from '../src/bench/workloads/w2.js'
import { runW3 } from '../src/bench/workloads/w3.js'
import { runW4 } from '../src/bench/workloads/w4.js'
import { runGen } from '../src/bench/workloads/gen.js'
import { measureSimdPeak } from '../src/bench/simd-peak.js'
import { setEngineDefaults } from '../src/engine/backend/select.js'
import { type Dtype, type KernelSetName, DTYPES, KERNEL_SETS, isDtype, isKernelSetName } from '../src/engine/backend/types.js'

const WORKLOADS = ['W1', 'W2', 'W3', 'W4'] as const
/** Run only when named. */
const EXTRA = ['GEN'] as const
type WorkloadId = (typeof WORKLOADS)[number] | (typeof EXTRA)[number]
const USAGE = 'usage: npm run bench -- [W1|W2|W3|W4|GEN|all] [--precision float32|float64] [--kernels wasm|js] [--compare] [--tfjs]'

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`)
  process.exit(2)
}

function parse(args: string[]): { ids: WorkloadId[]; dtype?: Dtype; kernels?: KernelSetName; compare: boolean; tfjs: boolean } {
  const ids = new Set<WorkloadId>()
  let dtype: Dtype | undefined
  let kernels: KernelSetName | undefined
  let compare = false
  let tfjs = false
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i].split('=', 2)
    if (flag === '--compare') compare = true
    else if (flag === '--tfjs') tfjs = true
    else if (flag === '--precision') {
      const v = inline ?? args[++i]
      if (!isDtype(v)) fail(`--precision must be one of ${DTYPES.join(', ')}`)
      dtype = v
    } else if (flag === '--kernels') {
      const v = inline ?? args[++i]
      if (!isKernelSetName(v)) fail(`--kernels must be one of ${KERNEL_SETS.join(', ')}`)
      kernels = v
    } else if (flag.toUpperCase() === 'ALL') WORKLOADS.forEach((w) => ids.add(w))
    else if ([...WORKLOADS, ...EXTRA].includes(flag.toUpperCase() as WorkloadId)) ids.add(flag.toUpperCase() as WorkloadId)
    else fail(`unknown argument '${args[i]}'`)
  }
  const chosen = ids.size === 0 ? [...WORKLOADS] : [...WORKLOADS, ...EXTRA].filter((w) => ids.has(w))
  return { ids: chosen, dtype, kernels, compare, tfjs }
}

const { ids, dtype, kernels, compare, tfjs } = parse(process.argv.slice(2))
const choice = engineChoice({ dtype, kernels })
// W1 builds its models without a backend: the engine defaults carry the choice to it.
setEngineDefaults(choice)
const loadBefore = os.loadavg()[0]
let corpus: Corpus | undefined
const needCorpus = () => (corpus ??= loadCorpus())
const ours: OurFigures = {}
// Read per workload: the load average is part of it.
for (const id of ids) {
  let result: object
  switch (id) {
    case 'W1': result = ours.W1 = { ...runW1(), ...engineFields(choice) }; break
    case 'W2': result = ours.W2 = runW2({ corpus: needCorpus(), ...choice }); break
    case 'W3': result = ours.W3 = runW3(choice); break
    case 'W4': result = ours.W4 = runW4({ corpus: needCorpus(), ...choice }); break
    case 'GEN': {
      const simdPeakGflops = choice.kernels === 'wasm' ? (await measureSimdPeak(choice.dtype)).gflops : undefined
      result = runGen({ corpus: needCorpus(), ...choice, simdPeakGflops })
      break
    }
  }
  console.log(JSON.stringify({ ...result, ...benchEnvironment() }))
}
const tfjsW2 = tfjs && ours.W2 ? await runTfjsW2(needCorpus()) : undefined
if (tfjsW2) console.log(JSON.stringify({ ...tfjsW2, ...benchEnvironment() }))
if (compare) {
  const torch = runTorchBench()
  console.log(JSON.stringify({ workload: 'pytorch', ...torch }))
  console.log(`\n${comparisonTable(ours, torch, loadBefore, tfjsW2)}`)
}
