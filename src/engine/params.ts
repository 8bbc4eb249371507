import { createBackend } from './backend/select.js'
import type { Backend, Floats } from './backend/types.js'

/**
 * All parameters of a model live in one flat vector (and their gradients in a second one of
 * the same layout), so optimizers, gradient clipping and checkpoints work on whole vectors
 * while layers address their tensors through views. The vectors come from the model's
 * backend (its precision, and its WebAssembly memory for the wasm kernels); layers allocate
 * their workspaces from the same backend.
 */
export interface ParamSpec {
  name: string
  shape: number[]
}

export interface ParamEntry extends ParamSpec {
  offset: number
  size: number
}

export interface SerializedTensor {
  shape: number[]
  data: number[]
}

export type StateDict = Record<string, SerializedTensor>

export function shapeSize(shape: readonly number[]): number {
  let size = 1
  for (const d of shape) size *= d
  return size
}

export class Parameters {
  readonly entries: readonly ParamEntry[]
  readonly data: Floats
  readonly grad: Floats
  readonly backend: Backend
  private readonly byName = new Map<string, ParamEntry>()

  /** Without a backend: the engine defaults (float64 on the default kernel set, see backend/select.ts). */
  constructor(specs: readonly ParamSpec[], backend: Backend = createBackend()) {
    this.backend = backend
    let offset = 0
    const entries: ParamEntry[] = []
    for (const spec of specs) {
      if (this.byName.has(spec.name)) throw new Error(`duplicate parameter name ${spec.name}`)
      const size = shapeSize(spec.shape)
      const entry = { name: spec.name, shape: [...spec.shape], offset, size }
      entries.push(entry)
      this.byName.set(spec.name, entry)
      offset += size
    }
    this.entries = entries
    this.data = backend.floats(offset)
    this.grad = backend.floats(offset)
  }

  get size(): number {
    return this.data.length
  }

  entry(name: string): ParamEntry {
    const entry = this.byName.get(name)
    if (!entry) throw new Error(`unknown parameter ${name}`)
    return entry
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  view(name: string): Floats {
    const e = this.entry(name)
    return this.data.subarray(e.offset, e.offset + e.size)
  }

  gradView(name: string): Floats {
    const e = this.entry(name)
    return this.grad.subarray(e.offset, e.offset + e.size)
  }

  zeroGrad(): void {
    this.grad.fill(0)
  }

  /** Exports PyTorch `state_dict` style JSON: `{name: {shape, data}}`, data row-major. */
  toStateDict(prefix = ''): StateDict {
    const out: StateDict = {}
    for (const e of this.entries) {
      out[prefix + e.name] = { shape: [...e.shape], data: Array.from(this.data.subarray(e.offset, e.offset + e.size)) }
    }
    return out
  }

  /**
   * Loads every parameter from a state dict. Every name must be present with the same
   * shape; unexpected names are errors too (like PyTorch's strict `load_state_dict`).
   * All-or-nothing: everything is checked before any value is written.
   */
  loadStateDict(dict: StateDict, prefix = ''): void {
    const expected = new Set(this.entries.map((e) => prefix + e.name))
    const unexpected = Object.keys(dict).filter((k) => k.startsWith(prefix) && !expected.has(k))
    if (unexpected.length > 0) throw new Error(`unexpected parameters in state dict: ${unexpected.join(', ')}`)
    for (const e of this.entries) {
      const name = prefix + e.name
      const tensor = dict[name]
      if (!tensor) throw new Error(`state dict is missing ${name}`)
      if (tensor.shape.length !== e.shape.length || tensor.shape.some((d, i) => d !== e.shape[i])) {
        throw new Error(`${name} has shape [${tensor.shape}], expected [${e.shape}]`)
      }
      if (tensor.data.length !== e.size) throw new Error(`${name} has ${tensor.data.length} values, expected ${e.size}`)
      tensor.data.forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${name}[${i}] is not a finite number`)
      })
    }
    for (const e of this.entries) this.data.set(dict[prefix + e.name].data, e.offset)
  }
}
