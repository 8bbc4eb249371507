/** The POST /jobs bodies of the README walk-through, verbatim: tests check that they keep working. */
export const README_GREETER = {
  name: 'greeter',
  model: { type: 'rnn', hidden_size: 8 },
  data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
  training: { epochs: 200, optimizer: 'adam', learning_rate: 0.1, batch_size: 1, seed: 0 },
}
export const README_POET = {
  name: 'poet', model: { type: 'lstm', hidden_size: 64 },
  data: { type: 'text', text: 'the cat sat on the mat. the dog sat on the log. ', seq_len: 16 },
  training: { epochs: 150, learning_rate: 0.01 },
}
export const README_WAVE = {
  name: 'wave', model: { type: 'gru', hidden_size: 16 },
  data: {
    type: 'series',
    series: [0, 0.5, 0.87, 1, 0.87, 0.5, 0, -0.5, -0.87, -1, -0.87, -0.5, 0, 0.5, 0.87, 1, 0.87, 0.5, 0, -0.5, -0.87, -1, -0.87, -0.5, 0],
    window: 6, horizon: 3,
  },
  training: { epochs: 200, learning_rate: 0.01, batch_size: 8 },
}
