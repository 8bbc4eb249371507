import type { Floats } from './backend/types.js'
/**
 * Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_(params, max_norm, 2).
 */

/**
 * Scale `grads` (all gradients of a model, flat) so their L2 norm is at most `maxNorm`, with
 * PyTorch's coefficient: clip_coef = min(1, maxNorm / (totalNorm + 1e-6)). Returns the total
 * norm before clipping.
 *
 * If the total norm is not finite (a NaN or ±Infinity gradient) it is returned and `grads` is
 * left untouched, so the caller can detect and skip the step. (PyTorch's default would instead
 * multiply by a NaN or zero coefficient and corrupt every gradient.)
 * `maxNorm` must be >= 0 (0 zeroes the gradients, Infinity only measures the norm).
 */
export function clipGradNorm(grads: Floats, maxNorm: number): number {
  if (typeof maxNorm !== 'number' || Number.isNaN(maxNorm) || maxNorm < 0) {
    throw new RangeError(`clipGradNorm: maxNorm must be a number >= 0, got ${maxNorm}`)
  }
  const totalNorm = l2Norm(grads)
  if (!Number.isFinite(totalNorm)) return totalNorm
  const clipCoef = maxNorm / (totalNorm + 1e-6)
  if (clipCoef < 1) {
    for (let i = 0; i < grads.length; i++) grads[i] *= clipCoef
  }
  return totalNorm
}

/** L2 norm; falls back to a max-scaled sum when the plain sum of squares overflows. */
export function l2Norm(x: Floats): number {
  let sumSq = 0
  for (let i = 0; i < x.length; i++) sumSq += x[i] * x[i]
  if (Number.isFinite(sumSq)) return Math.sqrt(sumSq)
  let maxAbs = 0
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i])
    if (Number.isNaN(a)) return NaN
    if (a > maxAbs) maxAbs = a
  }
  if (maxAbs === Infinity) return Infinity
  let scaled = 0
  for (let i = 0; i < x.length; i++) {
    const s = x[i] / maxAbs
    scaled += s * s
  }
  return maxAbs * Math.sqrt(scaled)
}
