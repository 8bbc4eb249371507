// Entry of a worker thread started from the TypeScript sources (tsx, tests). The worker gets
// the parent's --require hooks, under which tsx compiles required .ts files, but not its ESM
// hooks, so the real worker module is required, not imported (piscina's worker does the
// same). Built code (dist/) starts its .js worker files directly and never loads this file.
const { workerData } = require('node:worker_threads')

require(workerData.entryPath)
