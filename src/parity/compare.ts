/** Tolerance comparisons used by every parity check: |ours - ref| <= tol * max(1, |ref|). */
export class Comparison {
  readonly failures: string[] = []
  /** Largest |ours - ref| / max(1, |ref|) seen. */
  worst = 0

  constructor(readonly tolerance: number) {}

  tensor(label: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tolerance = this.tolerance): void {
    if (ours.length !== ref.length) {
      this.failures.push(`${label}: ${ours.length} values, expected ${ref.length}`)
      return
    }
    let worstHere = 0
    let worstIndex = -1
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(ours[i] - ref[i]) / Math.max(1, Math.abs(ref[i]))
      if (!(err <= worstHere)) {
        worstHere = Number.isNaN(err) ? Infinity : err
        worstIndex = i
      }
    }
    this.worst = Math.max(this.worst, worstHere)
    if (worstHere > tolerance) {
      this.failures.push(`${label}[${worstIndex}]: ${ours[worstIndex]} vs ${ref[worstIndex]} (rel err ${worstHere.toExponential(2)} > ${tolerance})`)
    }
  }

  scalar(label: string, ours: number, ref: number, tolerance = this.tolerance): void {
    this.tensor(label, [ours], [ref], tolerance)
  }

  fail(message: string): void {
    this.failures.push(message)
  }

  get ok(): boolean {
    return this.failures.length === 0
  }
}

export interface CaseResult {
  name: string
  ok: boolean
  detail: string
}

export function resultOf(name: string, cmp: Comparison): CaseResult {
  return {
    name,
    ok: cmp.ok,
    detail: cmp.ok ? `max rel err ${cmp.worst.toExponential(2)}` : cmp.failures.slice(0, 3).join('; '),
  }
}
