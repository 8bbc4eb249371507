/**
 * One job: status and progress, the live loss chart (train and validation, log scale,
 * metric selector), the learning-rate curve, its configuration and model card, a cancel
 * button and the predict box. Live through GET /jobs/{id}/events (read with fetch).
 */
import { allLosses, api, follow } from './api.js'
import { fmt, lineChart } from './charts.js'
import { announce, errorBox, FINISHED, h, shownStatus } from './dom.js'
import { predictBox } from './predict.js'

function eta(seconds) {
  if (seconds == null) return ''
  if (seconds < 90) return `${Math.round(seconds)} s`
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`
  return `${(seconds / 3600).toFixed(1)} h`
}

/** Metric names the points carry, without the val_ twins: accuracy, perplexity, mae, ... */
function metricNames(points) {
  const names = new Set()
  for (const p of points) for (const name of Object.keys(p.metrics ?? {})) if (!name.startsWith('val_')) names.add(name)
  return [...names].sort()
}

export async function jobView(root, id, signal) {
  let job
  let points
  try {
    ;[job, points] = await Promise.all([api(`/jobs/${encodeURIComponent(id)}`, { signal }), allLosses(id, signal)])
  } catch (err) {
    if (!signal.aborted) root.replaceChildren(h('h2', {}, 'Job'), errorBox(err), h('p', {}, h('a', { href: '#/' }, 'Back to the jobs')))
    return
  }

  const statusEl = h('span', { className: 'status', id: 'job-status', role: 'status' })
  const progressEl = h('progress', { id: 'job-progress', 'aria-label': 'Training progress' })
  const progressText = h('span', { id: 'job-progress-text', className: 'muted' })
  const liveText = h('p', { id: 'job-live', className: 'muted' })
  const cancelButton = h('button', { type: 'button', id: 'cancel-job', className: 'danger' }, 'Cancel job')
  const problem = h('div')
  const metricSelect = h('select', { id: 'metric-select' })
  const logToggle = h('input', { type: 'checkbox', id: 'log-scale' })
  const lossFigure = h('figure', { id: 'loss-chart', 'aria-label': 'Loss per epoch' })
  const lrFigure = h('figure', { id: 'lr-chart', 'aria-label': 'Learning rate per epoch' })
  const cardBox = h('div', { id: 'model-card' }, h('p', { className: 'muted' }, 'The model card appears with the first checkpoint.'))
  const predictHost = h('div', { id: 'predict' })

  root.replaceChildren(h('article', { 'aria-labelledby': 'job-title' },
    h('div', { className: 'toolbar' },
      h('h2', { id: 'job-title' }, job.name, h('span', { className: 'muted id' }, ` ${job.id}`)),
      statusEl, cancelButton),
    h('p', {}, progressEl, ' ', progressText),
    liveText, problem,
    h('section', { 'aria-labelledby': 'loss-title' },
      h('h3', { id: 'loss-title' }, 'Loss curve'),
      h('div', { className: 'controls' },
        h('label', { for: 'metric-select' }, 'Metric '), metricSelect,
        h('label', { className: 'inline' }, logToggle, ' Log scale')),
      lossFigure),
    h('section', { 'aria-labelledby': 'lr-title' }, h('h3', { id: 'lr-title' }, 'Learning rate'), lrFigure),
    h('section', { 'aria-labelledby': 'predict-title' }, h('h3', { id: 'predict-title' }, 'Try the model'), predictHost),
    h('div', { className: 'columns' },
      h('section', { 'aria-labelledby': 'config-title' }, h('h3', { id: 'config-title' }, 'Configuration'),
        h('pre', { id: 'job-config', tabindex: '0' }, JSON.stringify({ model: job.model, training: job.training, data: job.data }, null, 2))),
      h('section', { 'aria-labelledby': 'card-title' }, h('h3', { id: 'card-title' }, 'Model card'), cardBox)),
  ))

  let lossChart = null
  let lrChart = null
  const drawLoss = () => {
    const metric = metricSelect.value || 'loss'
    const x = points.map((p) => p.epoch)
    const pick = metric === 'loss'
      ? [points.map((p) => p.loss), points.map((p) => p.val_loss ?? null)]
      : [points.map((p) => p.metrics?.[metric] ?? null), points.map((p) => p.metrics?.[`val_${metric}`] ?? null)]
    if (!lossChart) {
      lossChart = lineChart(lossFigure, {
        xLabel: 'epoch', yLabel: metric, log: logToggle.checked,
        series: [{ label: `train ${metric}` }, { label: `validation ${metric}`, dash: true }],
        describe: (xs, ys) => `${xs.length} epochs; last train ${metric} ${fmt(ys[0].at(-1))}`,
      })
    }
    lossChart.setData(x, pick)
  }
  const redrawLoss = () => {
    lossChart?.destroy()
    lossChart = null
    drawLoss()
  }
  const drawLr = () => {
    if (!lrChart) lrChart = lineChart(lrFigure, { xLabel: 'epoch', yLabel: 'learning rate', series: [{ label: 'lr', color: '#1b7a3a' }] })
    lrChart.setData(points.map((p) => p.epoch), [points.map((p) => p.lr ?? null)])
  }
  const fillMetrics = () => {
    const names = ['loss', ...metricNames(points)]
    if (names.length === metricSelect.options.length) return
    const current = metricSelect.value || 'loss'
    metricSelect.replaceChildren(...names.map((n) => h('option', { value: n, selected: n === current }, n)))
  }
  metricSelect.addEventListener('change', redrawLoss)
  logToggle.addEventListener('change', redrawLoss)

  let cardShown = false
  const showCard = async () => {
    if (cardShown || !job.checkpoint) return
    cardShown = true
    try {
      const card = await api(`/jobs/${encodeURIComponent(id)}/model`, { signal })
      cardBox.replaceChildren(h('pre', { tabindex: '0' }, JSON.stringify(card, null, 2)))
    } catch (err) {
      cardShown = false
      // 409: the checkpoint is not stored yet; the next epoch tries again.
      if (!signal.aborted && err.status !== 409) cardBox.replaceChildren(errorBox(err))
    }
  }
  let predictShown = false
  const render = () => {
    const status = shownStatus(job)
    if (statusEl.textContent !== status) {
      statusEl.textContent = status
      statusEl.className = `status status-${status}`
    }
    const { epoch, epochs } = job.progress
    progressEl.max = Math.max(epochs, 1)
    progressEl.value = epoch
    progressText.textContent = `epoch ${epoch} of ${epochs}${job.stopped_early ? ' (stopped early)' : ''}${job.loss != null ? `, loss ${fmt(job.loss)}` : ''}`
    cancelButton.disabled = FINISHED.has(job.status) || job.cancel_requested
    if (job.error) problem.replaceChildren(errorBox(job.error))
    if (job.status === 'succeeded' && !predictShown) {
      predictShown = true
      predictBox(predictHost, job, signal)
    } else if (!predictShown) {
      predictHost.replaceChildren(h('p', { className: 'muted' }, 'Predictions are possible once the job has succeeded.'))
    }
    void showCard()
  }

  cancelButton.addEventListener('click', async () => {
    cancelButton.disabled = true
    try {
      job = await api(`/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST', signal })
      announce(`Job ${shownStatus(job)}`)
      render()
    } catch (err) {
      problem.replaceChildren(errorBox(err))
      render()
    }
  })

  fillMetrics()
  drawLoss()
  drawLr()
  render()
  if (FINISHED.has(job.status)) return

  // A small job trains thousands of epochs a second: draw at most once per frame.
  let drawing = false
  const drawSoon = () => {
    if (drawing) return
    drawing = true
    requestAnimationFrame(() => {
      drawing = false
      fillMetrics()
      drawLoss()
      drawLr()
      render()
    })
  }

  const last = points.at(-1)?.epoch ?? 0
  await follow(`/jobs/${encodeURIComponent(id)}/events`, {
    lastEventId: `${last}.${job.status}`,
    signal,
    onError: (err) => problem.replaceChildren(errorBox(err)),
    done: (e) => e.event === 'status' && FINISHED.has(e.data.status),
    onEvent: async (e) => {
      if (e.event === 'epoch') {
        const d = e.data
        if (points.length > 0 && d.epoch <= points.at(-1).epoch) return
        points.push({ epoch: d.epoch, loss: d.loss, val_loss: d.val_loss ?? undefined, lr: d.lr, metrics: d.metrics, at: d.at })
        job.progress = { epoch: d.epoch, epochs: d.epochs }
        job.loss = d.loss
        // Epochs are stored in order after the checkpoints before them: past checkpoint_every,
        // the first checkpoint exists and the model card can be shown.
        const every = job.training?.checkpoint_every ?? 10
        if (!job.checkpoint && d.epoch > every) job.checkpoint = { epoch: every * Math.floor((d.epoch - 1) / every) }
        const speed = d.tokens_per_second != null ? `, ${fmt(d.tokens_per_second)} tokens/s` : ''
        liveText.textContent = `epoch ${d.epoch} done${speed}${d.eta_seconds != null ? `, about ${eta(d.eta_seconds)} left` : ''}`
        drawSoon()
      } else if (e.event === 'progress') {
        const d = e.data
        progressEl.value = d.epoch - 1 + d.batch / d.batches
        const speed = d.tokens_per_second != null ? `, ${fmt(d.tokens_per_second)} tokens/s` : ''
        liveText.textContent = `epoch ${d.epoch}: batch ${d.batch} of ${d.batches}${speed}`
      } else if (e.event === 'status') {
        try {
          job = await api(`/jobs/${encodeURIComponent(id)}`, { signal })
        } catch {
          job = { ...job, status: e.data.status }
        }
        // The epochs streamed so far are the job's progress (the job read may be older).
        const newest = points.at(-1)
        if (newest && newest.epoch > job.progress.epoch) job.progress = { ...job.progress, epoch: newest.epoch }
        render()
        drawSoon()
        if (FINISHED.has(job.status)) announce(`Job ${job.status}`)
      }
    },
  })
}
