/**
 * Cooperative stop of a training step (cancel, shutdown, a runtime limit): the step's long loops
 * poll a check — every time step of the recurrent forward and backward sweeps, and between
 * chunks of the products and reductions over all time steps — and the first true stops the step
 * with StepInterruptedError before the optimizer runs. Polling a null check costs one comparison.
 */

/** Asked between pieces of a training step; true stops it. Must be cheap (an Atomics.load). */
export type Interrupt = () => boolean

/**
 * A training step stopped by its interrupt check. Thrown before the optimizer ran: parameters,
 * optimizer state and the step's RNG are exactly as before the step (see trainStep).
 */
export class StepInterruptedError extends Error {
  constructor() {
    super('training step interrupted: a stop was requested')
    this.name = 'StepInterruptedError'
  }
}

/** Throws StepInterruptedError when the check asks to stop. */
export function pollInterrupt(interrupt: Interrupt | null): void {
  if (interrupt !== null && interrupt()) throw new StepInterruptedError()
}

/**
 * Multiply-adds (or element moves) between two polls inside one long operation: a few
 * milliseconds on either kernel set, so a stop waits that long at most inside it.
 */
export const POLL_WORK = 1 << 24

/**
 * Runs `body(first, count)` over rows [0, rows) in pieces of `chunk` rows, polling the check
 * between pieces; one piece without a check. For operations whose rows are independent or
 * summed in row order, so the pieces compute exactly the bits of one call.
 */
export function inRowChunks(rows: number, chunk: number, interrupt: Interrupt | null, body: (first: number, count: number) => void): void {
  const step = interrupt === null ? rows : Math.max(1, chunk)
  for (let r = 0; r < rows; r += step) {
    if (r > 0) pollInterrupt(interrupt)
    body(r, Math.min(step, rows - r))
  }
}

/** Rows of `width` values each that make up about POLL_WORK units of work. */
export function rowsPerPoll(width: number, multiple = 1): number {
  const rows = Math.floor(POLL_WORK / Math.max(1, width))
  return Math.max(multiple, rows - (rows % multiple))
}
