// @ts-nocheck  (AssemblyScript, not tsc)

/**
 * float32 recurrent cells, 4 hidden units per f32x4 vector (the H % 4 leftovers through the same
 * arithmetic one lane at a time). exp is Cephes' expf (range reduction by ln 2, degree-6
 * polynomial, ~1 ulp), clamped so the 2^n scaling stays finite; sigmoid(x) = 1 / (1 + exp(-x)),
 * tanh(x) = 1 - 2 / (exp(2x) + 1). Each unit's value depends only on its own inputs, never on the
 * row (batch) count. Rows are contiguous: gates and hg are [rows x G], the rest [rows x H].
 */

@inline function expv(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(-87.3)), f32x4.splat(88.3))
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.44269504088896341)))
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)))
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)))
  let p = f32x4.splat(1.9875691500e-4)
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1))
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1))
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23)
  return f32x4.mul(y, scale)
}

@inline function sigmoidv(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expv(f32x4.neg(x))))
}

@inline function tanhv(x: v128): v128 {
  return f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(expv(f32x4.add(x, x)), f32x4.splat(1))))
}

/** A vector of 4 floats at p, or (tail) the lanes j < count with zeros after. */
@inline function ld(p: usize, count: i32): v128 {
  if (count >= 4) return v128.load(p)
  let v = f32x4.splat(0)
  v = f32x4.replace_lane(v, 0, load<f32>(p))
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4))
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8))
  return v
}

@inline function st(p: usize, v: v128, count: i32): void {
  if (count >= 4) { v128.store(p, v); return }
  store<f32>(p, f32x4.extract_lane(v, 0))
  if (count > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4)
  if (count > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8)
}

/**
 * LSTM (gate order i, f, g, o): gates <- activations of gates + hg, c' = f*c + i*g,
 * tanhC = tanh(c'), m = o * tanhC.
 */
export function lstmCellF32(rows: i32, H: i32, gates: usize, hg: usize, cPrev: usize, cOut: usize, tanhC: usize, m: usize): void {
  const hb = <usize>H * 4
  for (let b = 0; b < rows; b++) {
    const gr = gates + <usize>b * 4 * hb, hr = hg + <usize>b * 4 * hb
    const hrow = <usize>b * hb
    for (let j = 0; j < H; j += 4) {
      const count = H - j
      const o = <usize>j * 4
      const i = sigmoidv(f32x4.add(ld(gr + o, count), ld(hr + o, count)))
      const f = sigmoidv(f32x4.add(ld(gr + hb + o, count), ld(hr + hb + o, count)))
      const g = tanhv(f32x4.add(ld(gr + 2 * hb + o, count), ld(hr + 2 * hb + o, count)))
      const og = sigmoidv(f32x4.add(ld(gr + 3 * hb + o, count), ld(hr + 3 * hb + o, count)))
      st(gr + o, i, count); st(gr + hb + o, f, count); st(gr + 2 * hb + o, g, count); st(gr + 3 * hb + o, og, count)
      const c = f32x4.add(f32x4.mul(f, ld(cPrev + hrow + o, count)), f32x4.mul(i, g))
      const th = tanhv(c)
      st(cOut + hrow + o, c, count)
      st(tanhC + hrow + o, th, count)
      st(m + hrow + o, f32x4.mul(og, th), count)
    }
  }
}

/**
 * GRU (gate order r, z, n): r, z = sigmoid(gates + hg), hn = hg_n + b_hn,
 * n = tanh(gates_n + r * hn), h' = (1 - z) * n + z * h; gates <- r, z, n.
 */
export function gruCellF32(rows: i32, H: i32, gates: usize, hg: usize, bhn: usize, hPrev: usize, hOut: usize, hn: usize): void {
  const hb = <usize>H * 4
  for (let b = 0; b < rows; b++) {
    const gr = gates + <usize>b * 3 * hb, hr = hg + <usize>b * 3 * hb
    const hrow = <usize>b * hb
    for (let j = 0; j < H; j += 4) {
      const count = H - j
      const o = <usize>j * 4
      const r = sigmoidv(f32x4.add(ld(gr + o, count), ld(hr + o, count)))
      const z = sigmoidv(f32x4.add(ld(gr + hb + o, count), ld(hr + hb + o, count)))
      const hnj = f32x4.add(ld(hr + 2 * hb + o, count), ld(bhn + o, count))
      const n = tanhv(f32x4.add(ld(gr + 2 * hb + o, count), f32x4.mul(r, hnj)))
      st(gr + o, r, count); st(gr + hb + o, z, count); st(gr + 2 * hb + o, n, count)
      st(hn + hrow + o, hnj, count)
      const h = f32x4.add(f32x4.mul(f32x4.sub(f32x4.splat(1), z), n), f32x4.mul(z, ld(hPrev + hrow + o, count)))
      st(hOut + hrow + o, h, count)
    }
  }
}

/**
 * LSTM backward step (gates hold the activations i, f, g, o): dct = dc + dm*o*(1 - tanhC²);
 * dc <- dct*f; dG = [dct*g*i(1-i), dct*cPrev*f(1-f), dct*i(1-g²), dm*tanhC*o(1-o)].
 */
export function lstmCellBackwardF32(rows: i32, H: i32, gates: usize, tanhC: usize, dm: usize, dc: usize, cPrev: usize, dG: usize): void {
  const hb = <usize>H * 4
  const one = f32x4.splat(1)
  for (let b = 0; b < rows; b++) {
    const gr = gates + <usize>b * 4 * hb, dr = dG + <usize>b * 4 * hb
    const hrow = <usize>b * hb
    for (let j = 0; j < H; j += 4) {
      const count = H - j
      const o = <usize>j * 4
      const i = ld(gr + o, count), f = ld(gr + hb + o, count), g = ld(gr + 2 * hb + o, count), og = ld(gr + 3 * hb + o, count)
      const th = ld(tanhC + hrow + o, count)
      const dmj = ld(dm + hrow + o, count)
      const dct = f32x4.add(ld(dc + hrow + o, count), f32x4.mul(f32x4.mul(dmj, og), f32x4.sub(one, f32x4.mul(th, th))))
      st(dc + hrow + o, f32x4.mul(dct, f), count)
      st(dr + o, f32x4.mul(f32x4.mul(f32x4.mul(dct, g), i), f32x4.sub(one, i)), count)
      st(dr + hb + o, f32x4.mul(f32x4.mul(f32x4.mul(dct, ld(cPrev + hrow + o, count)), f), f32x4.sub(one, f)), count)
      st(dr + 2 * hb + o, f32x4.mul(f32x4.mul(dct, i), f32x4.sub(one, f32x4.mul(g, g))), count)
      st(dr + 3 * hb + o, f32x4.mul(f32x4.mul(f32x4.mul(dmj, th), og), f32x4.sub(one, og)), count)
    }
  }
}
