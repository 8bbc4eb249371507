/** The four task templates of the submit form (small jobs that train in seconds). */
const sine = Array.from({ length: 48 }, (_, i) => Number(Math.sin((2 * Math.PI * i) / 12).toFixed(3)))

export const TEMPLATES = {
  pairs: {
    title: 'Pairs: map a sequence to one of the same length',
    job: {
      name: 'greeter', model: { type: 'rnn', hidden_size: 8 },
      data: { type: 'pairs', pairs: [{ input: 'hello', target: 'elloh' }] },
      training: { epochs: 200, learning_rate: 0.1, batch_size: 1 },
    },
  },
  text: {
    title: 'Text: continue a prompt character by character',
    job: {
      name: 'poet', model: { type: 'lstm', hidden_size: 64 },
      data: { type: 'text', text: 'the cat sat on the mat. the dog sat on the log. ', seq_len: 16 },
      training: { epochs: 150, learning_rate: 0.01 },
    },
  },
  series: {
    title: 'Series: forecast the next values of a time series',
    job: {
      name: 'wave', model: { type: 'gru', hidden_size: 16 },
      data: { type: 'series', series: sine, window: 12, horizon: 3 },
      training: { epochs: 200, learning_rate: 0.01, batch_size: 8, validation_split: 0.2 },
    },
  },
  classes: {
    title: 'Classes: label a sequence',
    job: {
      name: 'sorter', model: { type: 'gru', hidden_size: 16 },
      data: {
        type: 'classes',
        examples: [
          ...['aaa', 'aaaa', 'aa', 'aaaaa', 'a', 'aaaaaa'].map((input) => ({ input, label: 'as' })),
          ...['bbb', 'bbbb', 'bb', 'bbbbb', 'b', 'bbbbbb'].map((input) => ({ input, label: 'bs' })),
          ...['abab', 'baba', 'ab', 'ba', 'aabb', 'bbaa'].map((input) => ({ input, label: 'mixed' })),
        ],
      },
      training: { epochs: 100, learning_rate: 0.02, batch_size: 6 },
    },
  },
}
