import { SequenceModel } from '../engine/model.js'
import { createOptimizer, isOptimizerName, type OptimizerOptions } from '../engine/optimizers.js'
import { LossWorkspace, argmaxRows, trainStep } from '../engine/train-step.js'
import { type CaseResult, Comparison, resultOf } from './compare.js'
import type { TrajectoryCase } from './fixture.js'

const PARAM_TOLERANCE = 1e-4

/** Char -> slot as the tutorial builds it (`{c: i for i, c in enumerate(char_set)}`: a repeated char's later slot wins). */
function slotIndex(charSet: readonly string[]): Map<string, number> {
  const index = new Map<string, number>()
  charSet.forEach((c, i) => index.set(c, i))
  return index
}

function encode(text: string, index: Map<string, number>): Int32Array {
  return Int32Array.from([...text], (c) => {
    const id = index.get(c)
    if (id === undefined) throw new Error(`character ${JSON.stringify(c)} is not in char_set`)
    return id
  })
}

export function trajectoryName(c: TrajectoryCase, index: number): string {
  return `trajectories[${index}] ${c.mode} ${JSON.stringify(c.input)}->${JSON.stringify(c.target)} ${c.optimizer} lr=${c.lr} ` +
    `${c.epochs} epochs${c.carry_hidden_across_epochs ? ' carry' : ''}${c.dtype ? ` ${c.dtype}` : ''}`
}

/** Trains the tutorial model from the given initial weights and compares the whole run. */
export function checkTrajectory(c: TrajectoryCase, index: number): CaseResult {
  const cmp = new Comparison(PARAM_TOLERANCE)
  const name = trajectoryName(c, index)
  try {
    const charSet = [...c.char_set]
    const V = charSet.length
    const slots = slotIndex(charSet)
    const x = encode(c.input, slots)
    const y = encode(c.target, slots)
    if (x.length !== y.length) throw new Error('input and target lengths differ')
    const model = new SequenceModel({
      mode: c.mode, inputSize: V, oneHot: true, hiddenSize: c.hidden_size, numLayers: c.num_layers ?? 1,
      bidirectional: c.bidirectional ?? false, projSize: c.proj_size ?? 0, dropout: 0, outputSize: V, head: 'every_step',
    })
    model.params.loadStateDict(c.initial_params)
    if (!isOptimizerName(c.optimizer)) throw new Error(`unknown optimizer ${c.optimizer}`)
    const optimizer = createOptimizer(c.optimizer, model.params.size, { ...(c.options ?? {}), lr: c.lr } as OptimizerOptions)
    const { h: hSize, c: cSize } = model.stateSizes
    const carryH = new Float64Array(hSize)
    const carryC = new Float64Array(cSize)
    const T = x.length
    const workspace = new LossWorkspace()
    const targets = { kind: 'classes' as const, targets: y }
    for (let epoch = 0; epoch < c.epochs; epoch++) {
      const carry = c.carry_hidden_across_epochs && epoch > 0
      const loss = trainStep(model, {
        T, B: 1, input: { kind: 'ids', ids: x }, lengths: null,
        h0: carry ? carryH : null, c0: carry && cSize > 0 ? carryC : null, training: true, rng: null,
      }, targets, optimizer, c.clip_grad_norm ?? null, workspace)
      if (epoch < c.losses.length) {
        const ref = c.losses[epoch]
        if (!(Math.abs(loss - ref) <= 1e-6 + 1e-3 * Math.abs(ref))) cmp.fail(`loss at epoch ${epoch + 1}: ${loss} vs ${ref}`)
      }
      carryH.set(model.rnn.hN.subarray(0, hSize))
      if (cSize > 0) carryC.set(model.rnn.cN.subarray(0, cSize))
    }
    if (c.losses.length !== c.epochs) cmp.fail(`fixture has ${c.losses.length} losses for ${c.epochs} epochs`)
    for (const [key, ref] of Object.entries(c.final_params)) cmp.tensor(`final ${key}`, model.params.view(key), ref.data)
    const logits = model.forward({ T, B: 1, input: { kind: 'ids', ids: x }, lengths: null, h0: null, c0: null, training: false, rng: null })
    const predictedIds = argmaxRows(new Int32Array(T), logits, T, V)
    const predicted = Array.from(predictedIds, (i) => charSet[i]).join('')
    if (predicted !== c.predicted) cmp.fail(`predicted ${JSON.stringify(predicted)}, expected ${JSON.stringify(c.predicted)}`)
  } catch (err) {
    cmp.fail(`error: ${(err as Error).message}`)
  }
  return resultOf(name, cmp)
}
