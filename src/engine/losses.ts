import type { Floats } from './backend/types.js'
import { type Interrupt, pollInterrupt, rowsPerPoll } from './interrupt.js'
/**
 * Losses with PyTorch's mean reduction, and the row-wise softmax helpers used by prediction.
 * Every kernel takes its output buffer first and allocates nothing.
 */

function checkMatrix(what: string, buffer: Floats, rows: number, classes: number): void {
  if (!Number.isInteger(rows) || rows < 0 || !Number.isInteger(classes) || classes < 1) {
    throw new RangeError(`${what}: rows must be an integer >= 0 and classes an integer >= 1`)
  }
  if (buffer.length < rows * classes) {
    throw new RangeError(`${what}: buffer of length ${buffer.length} is shorter than ${rows}x${classes}`)
  }
}

/** log(sum(exp(row))) computed as max + log(sum(exp(x - max))) so huge logits do not overflow. */
function logSumExp(x: Floats, offset: number, classes: number): number {
  let max = -Infinity
  for (let j = 0; j < classes; j++) if (x[offset + j] > max) max = x[offset + j]
  // All -Infinity (or +Infinity) rows: keep IEEE semantics instead of producing NaN from inf - inf.
  if (!Number.isFinite(max)) return max
  let sum = 0
  for (let j = 0; j < classes; j++) sum += Math.exp(x[offset + j] - max)
  return max + Math.log(sum)
}

/**
 * out[r, :] = log_softmax(logits[r, :]) for `rows` rows of `classes` values.
 * `out` may be `logits` itself (in place).
 */
export function logSoftmax(out: Floats, logits: Floats, rows: number, classes: number): Floats {
  checkMatrix('logSoftmax', logits, rows, classes)
  checkMatrix('logSoftmax', out, rows, classes)
  for (let r = 0; r < rows; r++) {
    const o = r * classes
    const lse = logSumExp(logits, o, classes)
    for (let j = 0; j < classes; j++) out[o + j] = logits[o + j] - lse
  }
  return out
}

/**
 * out[r, :] = softmax(logits[r, :]) for `rows` rows of `classes` values.
 * `out` may be `logits` itself (in place).
 */
export function softmax(out: Floats, logits: Floats, rows: number, classes: number): Floats {
  checkMatrix('softmax', logits, rows, classes)
  checkMatrix('softmax', out, rows, classes)
  for (let r = 0; r < rows; r++) {
    const o = r * classes
    let max = -Infinity
    for (let j = 0; j < classes; j++) if (logits[o + j] > max) max = logits[o + j]
    let sum = 0
    for (let j = 0; j < classes; j++) {
      const e = Math.exp(logits[o + j] - max)
      out[o + j] = e
      sum += e
    }
    for (let j = 0; j < classes; j++) out[o + j] /= sum
  }
  return out
}

/** Rough cost of one Math.exp in multiply-adds of the gemm kernels (for spacing polls). */
const EXP_COST = 64

/**
 * Mean softmax cross-entropy from logits [rows x classes] with integer targets, as
 * torch.nn.CrossEntropyLoss(reduction='mean'). Rows whose target is < 0 are ignored (PyTorch's
 * ignore_index, default -100, generalised to every negative value): the mean is over the
 * remaining rows and their gradient rows are zero. When every row is ignored the loss is 0 and
 * the gradient is zero (PyTorch would return NaN).
 *
 * When `grad` is non-null it receives d loss / d logits (same layout). `grad` may be `logits`
 * itself: each row is read completely before it is overwritten.
 * Throws RangeError for a target >= classes or for buffers shorter than rows x classes.
 * `interrupt` (interrupt.ts) is polled every few thousand rows (the same loop: the same bits).
 */
export function crossEntropy(
  grad: Floats | null,
  logits: Floats,
  targets: Int32Array,
  rows: number,
  classes: number,
  interrupt: Interrupt | null = null,
): number {
  const counted = countTargets(grad, logits, targets, rows, classes)
  const scale = counted > 0 ? 1 / counted : 0
  let total = 0
  // An exp per value: about EXP_COST multiply-adds of work.
  const every = interrupt === null ? rows : rowsPerPoll(classes * EXP_COST)
  let poll = every
  for (let r = 0; r < rows; r++) {
    if (r === poll) {
      pollInterrupt(interrupt)
      poll += every
    }
    const o = r * classes
    const target = targets[r]
    if (target < 0) {
      if (grad !== null) grad.fill(0, o, o + classes)
      continue
    }
    const lse = logSumExp(logits, o, classes)
    total += lse - logits[o + target]
    if (grad !== null) {
      for (let j = 0; j < classes; j++) grad[o + j] = Math.exp(logits[o + j] - lse) * scale
      grad[o + target] -= scale
    }
  }
  return total * scale
}

/**
 * Validates crossEntropy's operands (RangeError for short buffers, too few targets, a target
 * >= classes) and returns how many rows count (target >= 0): the mean's divisor.
 */
export function countTargets(grad: Floats | null, logits: Floats, targets: Int32Array, rows: number, classes: number): number {
  checkMatrix('crossEntropy', logits, rows, classes)
  if (grad !== null) checkMatrix('crossEntropy', grad, rows, classes)
  if (targets.length < rows) {
    throw new RangeError(`crossEntropy: ${targets.length} targets for ${rows} rows`)
  }
  let counted = 0
  for (let r = 0; r < rows; r++) {
    const target = targets[r]
    if (target >= classes) {
      throw new RangeError(`crossEntropy: target ${target} at row ${r} is out of range for ${classes} classes`)
    }
    if (target >= 0) counted++
  }
  return counted
}

/**
 * Mean squared error over `n` values, as torch.nn.MSELoss(reduction='mean'). When `grad` is
 * non-null it receives d loss / d pred = 2 (pred - target) / n (it may alias `pred`).
 * For n = 0 the loss is 0 (PyTorch would return NaN).
 */
export function mse(grad: Floats | null, pred: Floats, target: Floats, n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`mse: n must be an integer >= 0, got ${n}`)
  if (pred.length < n || target.length < n || (grad !== null && grad.length < n)) {
    throw new RangeError(`mse: buffers must hold at least ${n} values`)
  }
  if (n === 0) return 0
  let total = 0
  const gradScale = 2 / n
  for (let i = 0; i < n; i++) {
    const d = pred[i] - target[i]
    total += d * d
    if (grad !== null) grad[i] = gradScale * d
  }
  return total / n
}
