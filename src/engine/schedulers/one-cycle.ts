/**
 * torch.optim.lr_scheduler.OneCycleLR (Smith's 1cycle policy): warm up from max_lr/div_factor
 * to max_lr, then anneal to initial_lr/final_div_factor (optionally back through initial_lr
 * first: three_phase), cycling momentum (or Adam's beta1) inversely between max_momentum and
 * base_momentum. Computed from the step number, as PyTorch's `get_lr()` does.
 */
import type { OptionReader } from './option-reader.js'
import type { LrScheduler, OptimizerHandle, SchedulerState } from './types.js'

interface Phase {
  endStep: number
  startLr: number
  endLr: number
  startMomentum: number
  endMomentum: number
}

export class OneCycleLR implements LrScheduler {
  readonly name = 'OneCycleLR'
  readonly needsMetric = false
  readonly totalSteps: number
  private readonly phases: Phase[]
  private readonly anneal: (start: number, end: number, pct: number) => number
  private readonly cycleMomentum: boolean
  private stepNum = 0
  private currentLr = 0
  private currentMomentum: number | null = null

  constructor(o: OptionReader, optimizer: OptimizerHandle) {
    const maxLr = o.number('max_lr', undefined, (v) => v > 0, 'must be > 0')
    const total = o.optionalPositiveInteger('total_steps')
    const epochs = o.optionalPositiveInteger('epochs')
    const perEpoch = o.optionalPositiveInteger('steps_per_epoch')
    if (total !== undefined) this.totalSteps = total
    else if (epochs !== undefined && perEpoch !== undefined) this.totalSteps = epochs * perEpoch
    else o.fail('total_steps', 'is required (or both epochs and steps_per_epoch)')
    const pctStart = o.number('pct_start', 0.3, (v) => v >= 0 && v <= 1, 'must be between 0 and 1')
    const strategy = o.choice('anneal_strategy', ['cos', 'linear'] as const, 'cos')
    this.cycleMomentum = o.boolean('cycle_momentum', true)
    const baseMomentum = o.number('base_momentum', 0.85)
    const maxMomentum = o.number('max_momentum', 0.95)
    const divFactor = o.number('div_factor', 25, (v) => v > 0, 'must be > 0')
    const finalDivFactor = o.number('final_div_factor', 1e4, (v) => v > 0, 'must be > 0')
    const threePhase = o.boolean('three_phase', false)
    o.done()
    if (this.cycleMomentum && optimizer.kind === null) {
      o.fail('cycle_momentum', 'needs an optimizer with momentum (sgd, rmsprop) or betas (adam, adamw); set cycle_momentum to false')
    }
    const initialLr = maxLr / divFactor
    const minLr = initialLr / finalDivFactor
    const T = this.totalSteps
    const phase = (endStep: number, startLr: number, endLr: number, startMomentum: number, endMomentum: number): Phase =>
      ({ endStep, startLr, endLr, startMomentum, endMomentum })
    this.phases = threePhase
      ? [
          phase(pctStart * T - 1, initialLr, maxLr, maxMomentum, baseMomentum),
          phase(2 * pctStart * T - 2, maxLr, initialLr, baseMomentum, maxMomentum),
          phase(T - 1, initialLr, minLr, maxMomentum, maxMomentum),
        ]
      : [
          phase(pctStart * T - 1, initialLr, maxLr, maxMomentum, baseMomentum),
          phase(T - 1, maxLr, minLr, baseMomentum, maxMomentum),
        ]
    // PyTorch divides by each phase's length; a phase of length 0 that a step falls into is a ZeroDivisionError there.
    const last = this.phases.length - 1
    if (this.phases[0].endStep === 0 || this.phases[last].endStep === this.phases[last - 1].endStep) {
      o.fail('pct_start', `leaves a warm-up or annealing phase of zero steps with total_steps = ${T}; change pct_start or total_steps`)
    }
    this.anneal = strategy === 'cos'
      ? (start, end, pct) => end + (start - end) / 2.0 * (Math.cos(Math.PI * pct) + 1)
      : (start, end, pct) => (end - start) * pct + start
    this.compute()
  }

  get lr(): number {
    return this.currentLr
  }

  get momentum(): number | null {
    return this.currentMomentum
  }

  step(): void {
    this.stepNum++
    this.compute()
  }

  private compute(): void {
    const stepNum = this.stepNum
    if (stepNum > this.totalSteps) {
      throw new RangeError(`OneCycleLR stepped ${stepNum} times; total_steps is ${this.totalSteps}`)
    }
    let startStep = 0
    for (let i = 0; i < this.phases.length; i++) {
      const p = this.phases[i]
      if (stepNum <= p.endStep || i === this.phases.length - 1) {
        const pct = (stepNum - startStep) / (p.endStep - startStep)
        this.currentLr = this.anneal(p.startLr, p.endLr, pct)
        if (this.cycleMomentum) this.currentMomentum = this.anneal(p.startMomentum, p.endMomentum, pct)
        return
      }
      startStep = p.endStep
    }
  }

  getState(): SchedulerState {
    return { last_epoch: this.stepNum }
  }

  setState(state: SchedulerState): void {
    this.stepNum = state.last_epoch as number
    this.compute()
  }
}
