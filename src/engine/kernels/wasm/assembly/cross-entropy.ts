// @ts-nocheck  (AssemblyScript, not tsc)
import { expv } from './cells'

/**
 * float32 mean softmax cross-entropy from logits [rows x classes] with integer targets (the
 * reference and its conventions: ../../../losses.ts). Targets are checked by the caller; rows
 * with a target < 0 are ignored and get zero gradient. Per row: the max, e_j = exp(x_j - max)
 * in f32x4 lanes (the cells' expf) summed in float64, lse = max + log(sum), loss += lse - x_t,
 * grad_j = e_j · (scale / sum), grad_t -= scale. Rows never mix. `grad` = 0 skips the gradient;
 * it may be `logits` itself (x_t is read before the row is overwritten).
 * Returns the summed (unscaled) loss.
 */
export function crossEntropyF32(grad: usize, logits: usize, targets: usize, rows: i32, classes: i32, scale: f64): f64 {
  const rowBytes = <usize>classes * 4
  let total: f64 = 0
  for (let r = 0; r < rows; r++) {
    const x = logits + <usize>r * rowBytes
    const gr = grad + <usize>r * rowBytes
    const target = load<i32>(targets + (<usize>r << 2))
    if (target < 0) {
      if (grad != 0) memory.fill(gr, 0, rowBytes)
      continue
    }
    // The max (NaN never wins a comparison, as in the reference's loop).
    let mv = f32x4.splat(-Infinity)
    let j = 0
    for (; j + 4 <= classes; j += 4) mv = f32x4.pmax(mv, v128.load(x + (<usize>j << 2)))
    let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)))
    for (; j < classes; j++) {
      const xj = load<f32>(x + (<usize>j << 2))
      if (xj > mx) mx = xj
    }
    const xt = <f64>load<f32>(x + (<usize>target << 2))
    if (!isFinite(mx)) {
      // All -Infinity, or an Infinity: the reference's IEEE results, in scalar float64.
      const lse = <f64>mx
      total += lse - xt
      if (grad != 0) {
        for (let k = 0; k < classes; k++) {
          const o = <usize>k << 2
          store<f32>(gr + o, <f32>(Math.exp(<f64>load<f32>(x + o) - lse) * scale))
        }
        store<f32>(gr + (<usize>target << 2), load<f32>(gr + (<usize>target << 2)) - <f32>scale)
      }
      continue
    }
    const m4 = f32x4.splat(mx)
    const out = grad != 0 ? gr : 0
    let s0 = f64x2.splat(0), s1 = f64x2.splat(0)
    j = 0
    for (; j + 4 <= classes; j += 4) {
      const o = <usize>j << 2
      const e = expv(f32x4.sub(v128.load(x + o), m4))
      if (out != 0) v128.store(out + o, e)
      s0 = f64x2.add(s0, f64x2.promote_low_f32x4(e))
      s1 = f64x2.add(s1, f64x2.promote_low_f32x4(v128.shuffle<u32>(e, e, 2, 3, 0, 1)))
    }
    let sum = (f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s1, 0)) + (f64x2.extract_lane(s0, 1) + f64x2.extract_lane(s1, 1))
    for (; j < classes; j++) {
      const o = <usize>j << 2
      const e = f32x4.extract_lane(expv(f32x4.splat(load<f32>(x + o) - mx)), 0)
      if (out != 0) store<f32>(out + o, e)
      sum += <f64>e
    }
    total += (<f64>mx + Math.log(sum)) - xt
    if (out != 0) {
      const f = <f32>(scale / sum)
      const f4 = f32x4.splat(f)
      j = 0
      for (; j + 4 <= classes; j += 4) {
        const o = <usize>j << 2
        v128.store(out + o, f32x4.mul(v128.load(out + o), f4))
      }
      for (; j < classes; j++) {
        const o = <usize>j << 2
        store<f32>(out + o, load<f32>(out + o) * f)
      }
      const ot = out + (<usize>target << 2)
      store<f32>(ot, <f32>(<f64>load<f32>(ot) - scale))
    }
  }
  return total
}
