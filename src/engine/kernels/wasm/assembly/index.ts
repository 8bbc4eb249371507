// @ts-nocheck  (AssemblyScript entry point: the exports of the kernels module)
import { gemmNT } from './gemm'
import { transpose } from './transpose'

export function gemmNT_f64(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, m: i32, n: i32, k: i32, acc: bool): void { gemmNT<f64>(c, ldc, a, lda, b, ldb, m, n, k, acc) }
export function gemmNT_f32(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, m: i32, n: i32, k: i32, acc: bool): void { gemmNT<f32>(c, ldc, a, lda, b, ldb, m, n, k, acc) }
export function transpose_f64(out: usize, ldo: i32, x: usize, ldx: i32, rows: i32, cols: i32): void { transpose<f64>(out, ldo, x, ldx, rows, cols) }
export function transpose_f32(out: usize, ldo: i32, x: usize, ldx: i32, rows: i32, cols: i32): void { transpose<f32>(out, ldo, x, ldx, rows, cols) }
export { lstmCellF32, gruCellF32 } from './cells'
import { gruCellBackward, gruHiddenGrad, lstmCellBackward } from './cells'
export function lstmCellBackward_f64(rows: i32, H: i32, gates: usize, tanhC: usize, dm: usize, dc: usize, cPrev: usize, dG: usize): void { lstmCellBackward<f64>(rows, H, gates, tanhC, dm, dc, cPrev, dG) }
export function lstmCellBackward_f32(rows: i32, H: i32, gates: usize, tanhC: usize, dm: usize, dc: usize, cPrev: usize, dG: usize): void { lstmCellBackward<f32>(rows, H, gates, tanhC, dm, dc, cPrev, dG) }
export function gruCellBackward_f64(rows: i32, H: i32, gates: usize, hn: usize, hPrev: usize, dh: usize, dG: usize, dGh: usize): void { gruCellBackward<f64>(rows, H, gates, hn, hPrev, dh, dG, dGh) }
export function gruCellBackward_f32(rows: i32, H: i32, gates: usize, hn: usize, hPrev: usize, dh: usize, dG: usize, dGh: usize): void { gruCellBackward<f32>(rows, H, gates, hn, hPrev, dh, dG, dGh) }
export function gruHiddenGrad_f64(rows: i32, H: i32, dhPrev: usize, dh: usize, gates: usize): void { gruHiddenGrad<f64>(rows, H, dhPrev, dh, gates) }
export function gruHiddenGrad_f32(rows: i32, H: i32, dhPrev: usize, dh: usize, gates: usize): void { gruHiddenGrad<f32>(rows, H, dhPrev, dh, gates) }
import { columnSums } from './reduce'
export function columnSums_f64(out: usize, m: usize, rows: i32, cols: i32): void { columnSums<f64>(out, m, rows, cols) }
export function columnSums_f32(out: usize, m: usize, rows: i32, cols: i32): void { columnSums<f32>(out, m, rows, cols) }
import { gatherRows, scatterAddRows } from './onehot'
export function gatherRows_f64(out: usize, table: usize, bias: usize, ids: usize, rows: i32, G: i32): void { gatherRows<f64>(out, table, bias, ids, rows, G) }
export function gatherRows_f32(out: usize, table: usize, bias: usize, ids: usize, rows: i32, G: i32): void { gatherRows<f32>(out, table, bias, ids, rows, G) }
export function scatterAddRows_f64(table: usize, g: usize, ids: usize, rows: i32, G: i32): void { scatterAddRows<f64>(table, g, ids, rows, G) }
export function scatterAddRows_f32(table: usize, g: usize, ids: usize, rows: i32, G: i32): void { scatterAddRows<f32>(table, g, ids, rows, G) }
import { adamStep } from './adam'
export function adamStep_f64(p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32, stepSize: f64, bc2: f64, beta2: f64, eps: f64, w: f64, decay: f64, sign: f64, l2: f64): void { adamStep<f64>(p, g, m, v, vmax, n, stepSize, bc2, beta2, eps, w, decay, sign, l2) }
export function adamStep_f32(p: usize, g: usize, m: usize, v: usize, vmax: usize, n: i32, stepSize: f64, bc2: f64, beta2: f64, eps: f64, w: f64, decay: f64, sign: f64, l2: f64): void { adamStep<f32>(p, g, m, v, vmax, n, stepSize, bc2, beta2, eps, w, decay, sign, l2) }
export { crossEntropyF32 } from './cross-entropy'
/** End of the module's static data (Math.log's tables): the engine's allocator starts above it. */
export function heapBase(): usize { return __heap_base }
import { gatherColumns } from './onehot'
export function gatherColumns_f64(out: usize, w: usize, bias: usize, ids: usize, rows: i32, G: i32, I: i32): void { gatherColumns<f64>(out, w, bias, ids, rows, G, I) }
export function gatherColumns_f32(out: usize, w: usize, bias: usize, ids: usize, rows: i32, G: i32, I: i32): void { gatherColumns<f32>(out, w, bias, ids, rows, G, I) }
import { addRowBias, addVectors } from './vector'
export function addVectors_f64(out: usize, a: usize, b: usize, n: i32): void { addVectors<f64>(out, a, b, n) }
export function addVectors_f32(out: usize, a: usize, b: usize, n: i32): void { addVectors<f32>(out, a, b, n) }
export function addRowBias_f64(out: usize, bias: usize, rows: i32, cols: i32): void { addRowBias<f64>(out, bias, rows, cols) }
export function addRowBias_f32(out: usize, bias: usize, rows: i32, cols: i32): void { addRowBias<f32>(out, bias, rows, cols) }
