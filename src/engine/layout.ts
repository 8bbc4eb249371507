import type { Floats } from './backend/types.js'
/** out[t*B + b] = x[b*T + t] for rows of `width` values (batch-first -> time-major). */
export function toTimeMajor(out: Floats, x: ArrayLike<number>, B: number, T: number, width: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const src = (b * T + t) * width
      const dst = (t * B + b) * width
      for (let j = 0; j < width; j++) out[dst + j] = x[src + j]
    }
  }
}

/** out[b*T + t] = x[t*B + b] for rows of `width` values (time-major -> batch-first). */
export function toBatchFirst(out: Floats, x: ArrayLike<number>, T: number, B: number, width: number): void {
  for (let t = 0; t < T; t++) {
    for (let b = 0; b < B; b++) {
      const src = (t * B + b) * width
      const dst = (b * T + t) * width
      for (let j = 0; j < width; j++) out[dst + j] = x[src + j]
    }
  }
}
