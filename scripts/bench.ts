/**
 * `npm run bench -- [W1|W2|W3|W4|all]`: the standard engine workloads of
 * ../shared/bench/WORKLOADS.md, one JSON line per workload on stdout.
 * The corpus is ../shared/bench/corpus.txt unless $SEQSERVE_BENCH_CORPUS names another file.
 */
import { loadCorpus, type Corpus } from '../src/bench/corpus.js'
import { benchEnvironment } from '../src/bench/environment.js'
import { runW1 } from '../src/bench/workloads/w1.js'
import { runW2 } from '../src/bench/workloads/w2.js'
import { runW3 } from '../src/bench/workloads/w3.js'
import { runW4 } from '../src/bench/workloads/w4.js'

const WORKLOADS = ['W1', 'W2', 'W3', 'W4'] as const
type WorkloadId = (typeof WORKLOADS)[number]

function selected(args: string[]): WorkloadId[] {
  if (args.length === 0) return [...WORKLOADS]
  const ids = new Set<WorkloadId>()
  for (const arg of args) {
    const name = arg.toUpperCase()
    if (name === 'ALL') WORKLOADS.forEach((w) => ids.add(w))
    else if ((WORKLOADS as readonly string[]).includes(name)) ids.add(name as WorkloadId)
    else {
      console.error(`unknown workload '${arg}'; usage: npm run bench -- [W1|W2|W3|W4|all]`)
      process.exit(2)
    }
  }
  return WORKLOADS.filter((w) => ids.has(w))
}

const ids = selected(process.argv.slice(2))
let corpus: Corpus | undefined
const needCorpus = () => (corpus ??= loadCorpus())
// Read per workload: the load average is part of it.
for (const id of ids) {
  let result: object
  switch (id) {
    case 'W1': result = runW1(); break
    case 'W2': result = runW2({ corpus: needCorpus() }); break
    case 'W3': result = runW3(); break
    case 'W4': result = runW4({ corpus: needCorpus() }); break
  }
  console.log(JSON.stringify({ ...result, ...benchEnvironment() }))
}
