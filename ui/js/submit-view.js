/** The submit form: start from one of the four task templates, adjust, POST /jobs. */
import { api } from './api.js'
import { errorBox, h } from './dom.js'
import { TEMPLATES } from './templates.js'

function field(id, label, input, hint) {
  input.id = id
  input.name = id
  const hintId = hint ? `${id}-hint` : undefined
  if (hintId) input.setAttribute('aria-describedby', hintId)
  return h('div', { className: 'field' }, h('label', { for: id }, label), input, hint && h('small', { id: hintId, className: 'muted' }, hint))
}

export function submitView(root, signal) {
  const template = h('select', {}, Object.entries(TEMPLATES).map(([task, t]) => h('option', { value: task }, t.title)))
  const name = h('input', { type: 'text', required: true, maxlength: '100' })
  const modelType = h('select', {}, ['rnn', 'lstm', 'gru'].map((m) => h('option', { value: m }, m.toUpperCase())))
  const hidden = h('input', { type: 'number', min: '1', max: '4096', required: true })
  const layers = h('input', { type: 'number', min: '1', max: '8', required: true })
  const epochs = h('input', { type: 'number', min: '1', required: true })
  const lr = h('input', { type: 'number', min: '0', step: 'any', required: true })
  const validation = h('input', { type: 'number', min: '0', max: '0.9', step: '0.05' })
  const data = h('textarea', { rows: '10', spellcheck: 'false', required: true })
  const problem = h('div', { id: 'submit-problem' })

  const load = () => {
    const job = TEMPLATES[template.value].job
    name.value = job.name
    modelType.value = job.model.type
    hidden.value = job.model.hidden_size
    layers.value = job.model.num_layers ?? 1
    epochs.value = job.training.epochs
    lr.value = job.training.learning_rate
    validation.value = job.training.validation_split ?? 0
    data.value = JSON.stringify(job.data, null, 2)
  }
  template.addEventListener('change', load)

  const form = h('form', { id: 'submit-form', className: 'submit', novalidate: false },
    field('job-template', 'Task template', template),
    field('job-name', 'Name', name, 'Jobs of one name are the versions of one model'),
    h('fieldset', {}, h('legend', {}, 'Model'),
      field('job-model', 'Type', modelType), field('job-hidden', 'Hidden size', hidden), field('job-layers', 'Layers', layers)),
    h('fieldset', {}, h('legend', {}, 'Training'),
      field('job-epochs', 'Epochs', epochs), field('job-lr', 'Learning rate', lr),
      field('job-validation', 'Validation split', validation, 'Share of the data held out for the validation loss')),
    field('job-data', 'Data (JSON)', data, 'The template\'s data; edit it or paste your own in the same shape'),
    problem,
    h('button', { type: 'submit' }, 'Submit job'))

  form.addEventListener('submit', async (e) => {
    e.preventDefault()
    problem.replaceChildren()
    const base = TEMPLATES[template.value].job
    let parsed
    try {
      parsed = JSON.parse(data.value)
    } catch (err) {
      problem.replaceChildren(errorBox({ message: `The data is not valid JSON: ${err.message}` }))
      data.focus()
      return
    }
    const training = { ...base.training, epochs: Number(epochs.value), learning_rate: Number(lr.value) }
    if (Number(validation.value) > 0) training.validation_split = Number(validation.value)
    else delete training.validation_split
    const body = {
      name: name.value,
      model: { ...base.model, type: modelType.value, hidden_size: Number(hidden.value), num_layers: Number(layers.value) },
      data: parsed,
      training,
    }
    try {
      const job = await api('/jobs', { method: 'POST', body, signal })
      location.hash = `#/jobs/${job.id}`
    } catch (err) {
      problem.replaceChildren(errorBox(err))
    }
  })
  root.replaceChildren(h('section', { 'aria-labelledby': 'new-title' }, h('h2', { id: 'new-title' }, 'New job'), form))
  load()
}
