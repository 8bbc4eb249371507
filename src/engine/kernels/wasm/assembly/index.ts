// @ts-nocheck  (AssemblyScript entry point: the exports of the kernels module)
import { gemmNT } from './gemm'
import { transpose } from './transpose'

export function gemmNT_f64(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, m: i32, n: i32, k: i32, acc: bool): void { gemmNT<f64>(c, ldc, a, lda, b, ldb, m, n, k, acc) }
export function gemmNT_f32(c: usize, ldc: i32, a: usize, lda: i32, b: usize, ldb: i32, m: i32, n: i32, k: i32, acc: bool): void { gemmNT<f32>(c, ldc, a, lda, b, ldb, m, n, k, acc) }
export function transpose_f64(out: usize, ldo: i32, x: usize, ldx: i32, rows: i32, cols: i32): void { transpose<f64>(out, ldo, x, ldx, rows, cols) }
export function transpose_f32(out: usize, ldo: i32, x: usize, ldx: i32, rows: i32, cols: i32): void { transpose<f32>(out, ldo, x, ldx, rows, cols) }
export { lstmCellF32, gruCellF32 } from './cells'
export { lstmCellBackwardF32 } from './cells'
import { columnSums } from './reduce'
export function columnSums_f64(out: usize, m: usize, rows: i32, cols: i32): void { columnSums<f64>(out, m, rows, cols) }
export function columnSums_f32(out: usize, m: usize, rows: i32, cols: i32): void { columnSums<f32>(out, m, rows, cols) }
import { gatherRows, scatterAddRows } from './onehot'
export function gatherRows_f64(out: usize, table: usize, bias: usize, ids: usize, rows: i32, G: i32): void { gatherRows<f64>(out, table, bias, ids, rows, G) }
export function gatherRows_f32(out: usize, table: usize, bias: usize, ids: usize, rows: i32, G: i32): void { gatherRows<f32>(out, table, bias, ids, rows, G) }
export function scatterAddRows_f64(table: usize, g: usize, ids: usize, rows: i32, G: i32): void { scatterAddRows<f64>(table, g, ids, rows, G) }
export function scatterAddRows_f32(table: usize, g: usize, ids: usize, rows: i32, G: i32): void { scatterAddRows<f32>(table, g, ids, rows, G) }
