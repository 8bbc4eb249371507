// @ts-nocheck  (AssemblyScript, not tsc)

/**
 * Adam / AdamW update over whole vectors (../../../optimizers/adam.ts is the reference). Storage
 * is T (f32 or f64) but every operation runs in f64 in the reference's order, rounding only on
 * the stores, exactly as the JavaScript loop on a Float32Array or Float64Array does: the two
 * give the same bits. Two elements per f64x2 vector.
 *
 * `decay` multiplies p first (AdamW's 1 - lr·wd; 1, an exact no-op, for Adam), `sign` is -1 to
 * maximize, `l2` > 0 adds Adam's L2 penalty, `vmax` = 0 without amsgrad. lerp(m, g, w) with
 * w = 1 - beta1 takes the branch torch.lerp takes (the same for every element).
 */

@inline function ld2<T>(p: usize): v128 {
  if (sizeof<T>() == 8) return v128.load(p)
  return f64x2.promote_low_f32x4(v128.load64_zero(p))
}

@inline function st2<T>(p: usize, v: v128): void {
  if (sizeof<T>() == 8) { v128.store(p, v); return }
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0)
}

@inline function adamVec<T>(p: usize, g: usize, m: usize, v: usize, vmax: usize, o: usize,
  stepSize: f64, bc2: f64, beta2: f64, eps: f64, w: f64, decay: f64, sign: f64, l2: f64): void {
  let pv = f64x2.mul(ld2<T>(p + o), f64x2.splat(decay))
  let gv = f64x2.mul(ld2<T>(g + o), f64x2.splat(sign))
  if (l2 != 0) gv = f64x2.add(gv, f64x2.mul(f64x2.splat(l2), pv))
  const mo = ld2<T>(m + o)
  const mi = w < 0.5
    ? f64x2.add(mo, f64x2.mul(f64x2.splat(w), f64x2.sub(gv, mo)))
    : f64x2.sub(gv, f64x2.mul(f64x2.sub(gv, mo), f64x2.splat(1 - w)))
  const vi = f64x2.add(f64x2.mul(ld2<T>(v + o), f64x2.splat(beta2)), f64x2.mul(f64x2.splat(1 - beta2), f64x2.mul(gv, gv)))
  st2<T>(m + o, mi)
  st2<T>(v + o, vi)
  let second = vi
  if (vmax != 0) {
    second = f64x2.max(ld2<T>(vmax + o), vi)
    st2<T>(vmax + o, second)
  }
  const denom = f64x2.add(f64x2.div(f64x2.sqrt(second), f64x2.splat(bc2)), f64x2.splat(eps))
  st2<T>(p + o, f64x2.sub(pv, f64x2.mul(f64x2.splat(stepSize), f64x2.div(mi, denom))))
}

export function adamStep<T>(p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32,
  stepSize: f64, bc2: f64, beta2: f64, eps: f64, w: f64, decay: f64, sign: f64, l2: f64): void {
  const S = <usize>sizeof<T>()
  let i = 0
  for (; i + 2 <= n; i += 2) adamVec<T>(p, g, m, v, vmax, <usize>i * S, stepSize, bc2, beta2, eps, w, decay, sign, l2)
  if (i < n) {
    // The odd last element: scalar, the same operations.
    const o = <usize>i * S
    let pi = <f64>load<T>(p + o) * decay
    let gi = <f64>load<T>(g + o) * sign
    if (l2 != 0) gi += l2 * pi
    const m0 = <f64>load<T>(m + o)
    const mi = w < 0.5 ? m0 + w * (gi - m0) : gi - (gi - m0) * (1 - w)
    const vi = <f64>load<T>(v + o) * beta2 + (1 - beta2) * (gi * gi)
    store<T>(m + o, <T>mi)
    store<T>(v + o, <T>vi)
    let second = vi
    if (vmax != 0) {
      second = max(<f64>load<T>(vmax + o), vi)
      store<T>(vmax + o, <T>second)
    }
    const denom = Math.sqrt(second) / bc2 + eps
    store<T>(p + o, <T>(pi - stepSize * (mi / denom)))
  }
}
