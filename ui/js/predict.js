/**
 * The predict box, by task: text continues a prompt (length, temperature); series draws
 * the forecast after the history; classes shows every label's probability as a bar;
 * pairs maps an input to its output.
 */
import { api } from './api.js'
import { fmt, lineChart } from './charts.js'
import { errorBox, h } from './dom.js'

function field(id, label, input) {
  input.id = id
  return h('div', { className: 'field' }, h('label', { for: id }, label), input)
}

/** The history to draw: "1, 2.5, 3", or the first feature of "1,10; 2,20" (one row per step of a multivariate series). */
function historyOf(text) {
  const rows = text.split(';').map((row) => row.split(/[\s,]+/).filter(Boolean).map(Number)).filter((row) => row.length > 0)
  return rows.length === 1 ? rows[0] : rows.map((row) => row[0])
}

function probabilityBars(probabilities) {
  const entries = Object.entries(probabilities).sort((a, b) => b[1] - a[1])
  return h('table', { className: 'bars', id: 'predict-probabilities' },
    h('caption', {}, 'Class probabilities'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Label'), h('th', { scope: 'col' }, 'Probability'))),
    h('tbody', {}, entries.map(([label, p]) => {
      const bar = h('span', { className: 'bar' })
      bar.style.width = `${(100 * p).toFixed(1)}%`
      return h('tr', { dataset: { label } }, h('th', { scope: 'row' }, label),
        h('td', {}, h('span', { className: 'bar-track', role: 'img', 'aria-label': `${label}: ${(100 * p).toFixed(1)} percent` }, bar), ` ${(100 * p).toFixed(1)}%`))
    })))
}

export function predictBox(root, job, signal) {
  const task = job.data?.type
  const input = task === 'series'
    ? h('textarea', { rows: '2', placeholder: 'comma-separated numbers, e.g. 0, 0.5, 0.87, 1', required: true })
    : h('input', { type: 'text', required: true, placeholder: task === 'text' ? 'a prompt' : 'an input sequence', spellcheck: 'false' })
  const fields = [field('predict-input', task === 'text' ? 'Prompt' : task === 'series' ? 'History' : 'Input', input)]
  const length = h('input', { type: 'number', min: '1', max: '1000', value: '60' })
  const temperature = h('input', { type: 'number', min: '0', max: '10', step: '0.1', value: '0.5' })
  const horizon = h('input', { type: 'number', min: '1', max: '1000', value: String(job.data?.horizon ?? 1) })
  if (task === 'text') fields.push(field('predict-length', 'Length (characters)', length), field('predict-temperature', 'Temperature (0 = greedy)', temperature))
  if (task === 'series') fields.push(field('predict-horizon', 'Horizon (values)', horizon))
  const output = h('div', { id: 'predict-output', 'aria-live': 'polite' })
  const form = h('form', { className: 'predict', id: 'predict-form' }, ...fields, h('button', { type: 'submit' }, 'Predict'), output)

  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    const query = new URLSearchParams({ job: job.id, input: input.value.trim() })
    if (task === 'text') query.set('length', length.value), query.set('temperature', temperature.value)
    if (task === 'series') query.set('horizon', horizon.value)
    output.replaceChildren(h('p', { className: 'muted' }, 'Predicting…'))
    try {
      const result = await api(`/predict?${query}`, { signal })
      if (task === 'classes') {
        output.replaceChildren(h('p', {}, 'Label: ', h('strong', { id: 'predict-result' }, result.label)), probabilityBars(result.probabilities ?? {}))
      } else if (task === 'series') {
        const history = historyOf(input.value)
        const forecast = result.output.map((v) => (Array.isArray(v) ? v[0] : v))
        const x = [...history.keys(), ...forecast.map((_, i) => history.length + i)]
        // The forecast line starts at the last known value so the two lines join.
        const past = [...history, ...forecast.map(() => null)]
        const future = [...history.map((v, i) => (i === history.length - 1 ? v : null)), ...forecast]
        const figure = h('figure', { id: 'predict-chart', 'aria-label': 'History and forecast' })
        output.replaceChildren(h('p', {}, 'Forecast: ', h('strong', { id: 'predict-result' }, forecast.map(fmt).join(', '))), figure)
        lineChart(figure, { xLabel: 'step', yLabel: 'value', series: [{ label: 'history', points: true }, { label: 'forecast', dash: true, points: true }] })
          .setData(x, [past, future])
      } else {
        output.replaceChildren(h('p', {}, task === 'text' ? 'Continuation: ' : 'Output: ', h('strong', { id: 'predict-result', className: 'pre' }, result.output)))
      }
    } catch (err) {
      if (!signal.aborted) output.replaceChildren(errorBox(err))
    }
  })
  root.replaceChildren(form)
}
