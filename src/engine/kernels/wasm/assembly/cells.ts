// @ts-nocheck  (AssemblyScript, not tsc)

/**
 * Recurrent cells, L hidden units per 128-bit vector (f32x4, f64x2; the H % L leftovers through
 * the same arithmetic in a partly filled vector). The forward cells are float32 only (float64
 * keeps the JavaScript cells' Math.exp, the reference); the backward cells have no
 * transcendental function and are generic, and in float64 they repeat the JavaScript cells'
 * operations in the same order, so they equal ../../cells.ts bit for bit. exp is Cephes' expf (range reduction by ln 2, degree-6
 * polynomial, ~1 ulp), clamped so the 2^n scaling stays finite; sigmoid(x) = 1 / (1 + exp(-x)),
 * tanh(x) = 1 - 2 / (exp(2x) + 1). Each unit's value depends only on its own inputs, never on the
 * row (batch) count. Rows are contiguous: gates and hg are [rows x G], the rest [rows x H].
 */

@inline export function expv(x: v128): v128 {
  // pmax/pmin (one instruction each, NaN in the first operand passes through) instead of the
  // NaN-canonicalising min/max; n = round-to-nearest-even(x·log2 e) by the 1.5·2^23 trick, whose
  // bit pattern also holds n as an integer: the same n as f32x4.nearest, in 3 instructions
  // instead of nearest + trunc_sat's long x64 sequence.
  x = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-87.3)), f32x4.splat(88.3))
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), f32x4.splat(12582912.0))
  const n = f32x4.sub(t, f32x4.splat(12582912.0))
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)))
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)))
  let p = f32x4.splat(1.9875691500e-4)
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1))
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1))
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1))
  // (n + 127) << 23 as integer lanes: t's bits minus the trick constant's bits are n.
  const scale = i32x4.shl(i32x4.add(i32x4.sub(t, f32x4.splat(12582912.0)), i32x4.splat(127)), 23)
  return f32x4.mul(y, scale)
}

@inline function sigmoidv(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expv(f32x4.neg(x))))
}

@inline function tanhv(x: v128): v128 {
  return f32x4.sub(f32x4.splat(1), f32x4.div(f32x4.splat(2), f32x4.add(expv(f32x4.add(x, x)), f32x4.splat(1))))
}

/** L = 16 / sizeof<T> lanes at p, or (tail) the first `count` < L of them with zeros after. */
@inline function ld<T>(p: usize, count: i32): v128 {
  if (count >= 16 / <i32>sizeof<T>()) return v128.load(p)
  let v = v128.splat<T>(0)
  v = v128.replace_lane<T>(v, 0, load<T>(p))
  if (sizeof<T>() == 4) {
    if (count > 1) v = v128.replace_lane<T>(v, 1, load<T>(p, 4))
    if (count > 2) v = v128.replace_lane<T>(v, 2, load<T>(p, 8))
  }
  return v
}

@inline function st<T>(p: usize, v: v128, count: i32): void {
  if (count >= 16 / <i32>sizeof<T>()) { v128.store(p, v); return }
  store<T>(p, v128.extract_lane<T>(v, 0))
  if (sizeof<T>() == 4) {
    if (count > 1) store<T>(p, v128.extract_lane<T>(v, 1), 4)
    if (count > 2) store<T>(p, v128.extract_lane<T>(v, 2), 8)
  }
}

/** One vector of LSTM units at byte offset o of their rows (gates, hg: G-wide; the rest H-wide). */
@inline function lstmVec(gr: usize, hr: usize, hb: usize, cp: usize, co: usize, tc: usize, mo: usize, o: usize, count: i32): void {
  const i = sigmoidv(f32x4.add(ld<f32>(gr + o, count), ld<f32>(hr + o, count)))
  const f = sigmoidv(f32x4.add(ld<f32>(gr + hb + o, count), ld<f32>(hr + hb + o, count)))
  const g = tanhv(f32x4.add(ld<f32>(gr + 2 * hb + o, count), ld<f32>(hr + 2 * hb + o, count)))
  const og = sigmoidv(f32x4.add(ld<f32>(gr + 3 * hb + o, count), ld<f32>(hr + 3 * hb + o, count)))
  st<f32>(gr + o, i, count); st<f32>(gr + hb + o, f, count); st<f32>(gr + 2 * hb + o, g, count); st<f32>(gr + 3 * hb + o, og, count)
  const c = f32x4.add(f32x4.mul(f, ld<f32>(cp + o, count)), f32x4.mul(i, g))
  const th = tanhv(c)
  st<f32>(co + o, c, count)
  st<f32>(tc + o, th, count)
  st<f32>(mo + o, f32x4.mul(og, th), count)
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
    let j = 0
    for (; j + 4 <= H; j += 4) lstmVec(gr, hr, hb, cPrev + hrow, cOut + hrow, tanhC + hrow, m + hrow, <usize>j * 4, 4)
    if (j < H) lstmVec(gr, hr, hb, cPrev + hrow, cOut + hrow, tanhC + hrow, m + hrow, <usize>j * 4, H - j)
  }
}

@inline function gruVec(gr: usize, hr: usize, hb: usize, bhn: usize, hp: usize, ho: usize, hn: usize, o: usize, count: i32): void {
  const r = sigmoidv(f32x4.add(ld<f32>(gr + o, count), ld<f32>(hr + o, count)))
  const z = sigmoidv(f32x4.add(ld<f32>(gr + hb + o, count), ld<f32>(hr + hb + o, count)))
  const hnj = f32x4.add(ld<f32>(hr + 2 * hb + o, count), ld<f32>(bhn + o, count))
  const n = tanhv(f32x4.add(ld<f32>(gr + 2 * hb + o, count), f32x4.mul(r, hnj)))
  st<f32>(gr + o, r, count); st<f32>(gr + hb + o, z, count); st<f32>(gr + 2 * hb + o, n, count)
  st<f32>(hn + o, hnj, count)
  const h = f32x4.add(f32x4.mul(f32x4.sub(f32x4.splat(1), z), n), f32x4.mul(z, ld<f32>(hp + o, count)))
  st<f32>(ho + o, h, count)
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
    let j = 0
    for (; j + 4 <= H; j += 4) gruVec(gr, hr, hb, bhn, hPrev + hrow, hOut + hrow, hn + hrow, <usize>j * 4, 4)
    if (j < H) gruVec(gr, hr, hb, bhn, hPrev + hrow, hOut + hrow, hn + hrow, <usize>j * 4, H - j)
  }
}

@inline function lstmBackVec<T>(gr: usize, dr: usize, hb: usize, tc: usize, dmr: usize, dcr: usize, cpr: usize, o: usize, count: i32): void {
  const one = v128.splat<T>(1)
  const i = ld<T>(gr + o, count), f = ld<T>(gr + hb + o, count), g = ld<T>(gr + 2 * hb + o, count), og = ld<T>(gr + 3 * hb + o, count)
  const th = ld<T>(tc + o, count)
  const dmj = ld<T>(dmr + o, count)
  const dct = v128.add<T>(ld<T>(dcr + o, count), v128.mul<T>(v128.mul<T>(dmj, og), v128.sub<T>(one, v128.mul<T>(th, th))))
  st<T>(dcr + o, v128.mul<T>(dct, f), count)
  st<T>(dr + o, v128.mul<T>(v128.mul<T>(v128.mul<T>(dct, g), i), v128.sub<T>(one, i)), count)
  st<T>(dr + hb + o, v128.mul<T>(v128.mul<T>(v128.mul<T>(dct, ld<T>(cpr + o, count)), f), v128.sub<T>(one, f)), count)
  st<T>(dr + 2 * hb + o, v128.mul<T>(v128.mul<T>(dct, i), v128.sub<T>(one, v128.mul<T>(g, g))), count)
  st<T>(dr + 3 * hb + o, v128.mul<T>(v128.mul<T>(v128.mul<T>(dmj, th), og), v128.sub<T>(one, og)), count)
}

/**
 * LSTM backward step (gates hold the activations i, f, g, o): dct = dc + dm*o*(1 - tanhC²);
 * dc <- dct*f; dG = [dct*g*i(1-i), dct*cPrev*f(1-f), dct*i(1-g²), dm*tanhC*o(1-o)].
 */
export function lstmCellBackward<T>(rows: i32, H: i32, gates: usize, tanhC: usize, dm: usize, dc: usize, cPrev: usize, dG: usize): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>S
  const hb = <usize>H * S
  for (let b = 0; b < rows; b++) {
    const gr = gates + <usize>b * 4 * hb, dr = dG + <usize>b * 4 * hb
    const hrow = <usize>b * hb
    let j = 0
    for (; j + L <= H; j += L) lstmBackVec<T>(gr, dr, hb, tanhC + hrow, dm + hrow, dc + hrow, cPrev + hrow, <usize>j * S, L)
    if (j < H) lstmBackVec<T>(gr, dr, hb, tanhC + hrow, dm + hrow, dc + hrow, cPrev + hrow, <usize>j * S, H - j)
  }
}

@inline function gruBackVec<T>(gr: usize, dr: usize, dhr: usize, hb: usize, hnr: usize, hpr: usize, dhrow: usize, o: usize, count: i32): void {
  const one = v128.splat<T>(1)
  const r = ld<T>(gr + o, count), z = ld<T>(gr + hb + o, count), n = ld<T>(gr + 2 * hb + o, count)
  const d = ld<T>(dhrow + o, count)
  const dnPre = v128.mul<T>(v128.mul<T>(d, v128.sub<T>(one, z)), v128.sub<T>(one, v128.mul<T>(n, n)))
  const drPre = v128.mul<T>(v128.mul<T>(v128.mul<T>(dnPre, ld<T>(hnr + o, count)), r), v128.sub<T>(one, r))
  const dzPre = v128.mul<T>(v128.mul<T>(v128.mul<T>(d, v128.sub<T>(ld<T>(hpr + o, count), n)), z), v128.sub<T>(one, z))
  st<T>(dr + o, drPre, count); st<T>(dr + hb + o, dzPre, count); st<T>(dr + 2 * hb + o, dnPre, count)
  st<T>(dhr + o, drPre, count); st<T>(dhr + hb + o, dzPre, count); st<T>(dhr + 2 * hb + o, v128.mul<T>(dnPre, r), count)
}

/**
 * GRU backward step (gates hold r, z, n; hn = W_hn h + b_hn): dn = dh(1-z)(1-n²),
 * dr = dn*hn*r(1-r), dz = dh(h-n)z(1-z); dG = [dr, dz, dn] (input side), dGh = [dr, dz, dn*r].
 */
export function gruCellBackward<T>(rows: i32, H: i32, gates: usize, hn: usize, hPrev: usize, dh: usize, dG: usize, dGh: usize): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>S
  const hb = <usize>H * S
  for (let b = 0; b < rows; b++) {
    const gr = gates + <usize>b * 3 * hb, dr = dG + <usize>b * 3 * hb, dhr = dGh + <usize>b * 3 * hb
    const hrow = <usize>b * hb
    let j = 0
    for (; j + L <= H; j += L) gruBackVec<T>(gr, dr, dhr, hb, hn + hrow, hPrev + hrow, dh + hrow, <usize>j * S, L)
    if (j < H) gruBackVec<T>(gr, dr, dhr, hb, hn + hrow, hPrev + hrow, dh + hrow, <usize>j * S, H - j)
  }
}

/** h' depends on h directly through z*h: dhPrev += dh * z (z is the middle gate block of each row). */
export function gruHiddenGrad<T>(rows: i32, H: i32, dhPrev: usize, dh: usize, gates: usize): void {
  const S = <usize>sizeof<T>()
  const L = 16 / <i32>S
  const hb = <usize>H * S
  for (let b = 0; b < rows; b++) {
    const zr = gates + <usize>b * 3 * hb + hb
    const hrow = <usize>b * hb
    let j = 0
    for (; j + L <= H; j += L) {
      const o = hrow + <usize>j * S
      v128.store(dhPrev + o, v128.add<T>(v128.load(dhPrev + o), v128.mul<T>(v128.load(dh + o), v128.load(zr + <usize>j * S))))
    }
    for (; j < H; j++) {
      const o = hrow + <usize>j * S
      store<T>(dhPrev + o, load<T>(dhPrev + o) + load<T>(dh + o) * load<T>(zr + <usize>j * S))
    }
  }
}
