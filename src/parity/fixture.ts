/** Types of the PyTorch reference-vector format (see the fixtures README). */
export interface FixtureTensor {
  shape: number[]
  data: number[]
}

export interface CellCase {
  mode: 'rnn_tanh' | 'rnn_relu' | 'lstm' | 'gru'
  input_size: number
  hidden_size: number
  num_layers: number
  bidirectional: boolean
  proj_size?: number
  batch_first?: boolean
  params: Record<string, FixtureTensor>
  x: FixtureTensor
  h0?: FixtureTensor
  c0?: FixtureTensor
  outputs: { output: FixtureTensor; h_n: FixtureTensor; c_n?: FixtureTensor }
  g_output?: FixtureTensor
  g_h_n?: FixtureTensor
  g_c_n?: FixtureTensor
  loss_value?: number
  grads?: Record<string, FixtureTensor>
}

export interface TrajectoryCase {
  task?: string
  mode: CellCase['mode']
  input: string
  target: string
  char_set: string[]
  hidden_size: number
  num_layers?: number
  bidirectional?: boolean
  proj_size?: number
  optimizer: string
  lr: number
  options?: Record<string, unknown>
  epochs: number
  dtype?: string
  carry_hidden_across_epochs: boolean
  clip_grad_norm?: number | null
  initial_params: Record<string, FixtureTensor>
  losses: number[]
  predicted: string
  final_params: Record<string, FixtureTensor>
}

export interface OptimizerCase {
  optimizer: string
  options: Record<string, unknown>
  p0: FixtureTensor
  grads: FixtureTensor[]
  params_after_each_step: FixtureTensor[]
}

export interface CrossEntropyCase {
  loss: 'cross_entropy'
  logits: FixtureTensor
  targets: number[]
  value: number
  grad_logits: FixtureTensor
}

export interface MseCase {
  loss: 'mse'
  pred: FixtureTensor
  target: FixtureTensor
  value: number
  grad_pred: FixtureTensor
}

export interface ClipCase {
  max_norm: number
  norm_type?: number
  grads: FixtureTensor[]
  total_norm: number
  clipped: FixtureTensor[]
}

export interface Fixture {
  cells?: CellCase[]
  trajectories?: TrajectoryCase[]
  optimizers?: OptimizerCase[]
  losses?: (CrossEntropyCase | MseCase)[]
  clip_grad_norm?: ClipCase[]
}
