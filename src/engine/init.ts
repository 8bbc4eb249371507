import type { Parameters } from './params.js'
import type { Rng } from './rng.js'

/**
 * PyTorch's default initialisation. Recurrent layers: every weight and bias
 * U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)). Linear: kaiming_uniform(a=sqrt(5)) for the
 * weight, which is U(-1/sqrt(in), 1/sqrt(in)), and the same bound for the bias.
 * Parameters are drawn in layout order so a seed fixes every value.
 */
export function initUniform(params: Parameters, names: readonly string[], bound: number, rng: Rng): void {
  for (const name of names) {
    const v = params.view(name)
    for (let i = 0; i < v.length; i++) v[i] = rng.uniform(-bound, bound)
  }
}

export function initRecurrentParams(params: Parameters, prefix: string, hiddenSize: number, rng: Rng): void {
  const names = params.entries.map((e) => e.name).filter((n) => n.startsWith(prefix))
  initUniform(params, names, 1 / Math.sqrt(hiddenSize), rng)
}

export function initLinearParams(params: Parameters, prefix: string, inFeatures: number, rng: Rng): void {
  initUniform(params, [`${prefix}weight`, `${prefix}bias`], 1 / Math.sqrt(inFeatures), rng)
}
