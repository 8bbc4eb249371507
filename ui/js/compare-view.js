/** Several jobs' loss curves over one epoch axis. The jobs come from ?jobs=a,b,c or the list. */
import { allLosses, api } from './api.js'
import { lineChart } from './charts.js'
import { errorBox, h } from './dom.js'

export async function compareView(root, params, signal) {
  const chosen = new Set((params.get('jobs') ?? '').split(',').filter(Boolean))
  const list = h('fieldset', { className: 'pick' }, h('legend', {}, 'Jobs to compare'))
  const which = h('select', { id: 'compare-series' }, h('option', { value: 'loss' }, 'training loss'), h('option', { value: 'val_loss' }, 'validation loss'))
  const log = h('input', { type: 'checkbox', id: 'compare-log' })
  const figure = h('figure', { id: 'compare-chart', 'aria-label': 'Loss curves of the chosen jobs' })
  const problem = h('div')
  root.replaceChildren(h('section', { 'aria-labelledby': 'compare-title' },
    h('h2', { id: 'compare-title' }, 'Compare loss curves'), list,
    h('div', { className: 'controls' }, h('label', { for: 'compare-series' }, 'Curve '), which, h('label', { className: 'inline' }, log, ' Log scale')),
    problem, figure))

  let jobs = []
  try {
    jobs = (await api('/jobs?limit=100', { signal })).items
  } catch (err) {
    if (!signal.aborted) problem.replaceChildren(errorBox(err))
    return
  }
  const cache = new Map()
  let chart = null
  const draw = async () => {
    const ids = jobs.filter((j) => chosen.has(j.id)).map((j) => j.id)
    history.replaceState(null, '', `#/compare?jobs=${ids.join(',')}`)
    try {
      for (const id of ids) if (!cache.has(id)) cache.set(id, await allLosses(id, signal))
    } catch (err) {
      problem.replaceChildren(errorBox(err))
      return
    }
    const maxEpoch = Math.max(0, ...ids.map((id) => cache.get(id).at(-1)?.epoch ?? 0))
    const x = Array.from({ length: maxEpoch }, (_, i) => i + 1)
    const ys = ids.map((id) => {
      const y = x.map(() => null)
      for (const p of cache.get(id)) y[p.epoch - 1] = p[which.value] ?? null
      return y
    })
    chart?.destroy()
    chart = lineChart(figure, {
      xLabel: 'epoch', yLabel: which.value === 'loss' ? 'training loss' : 'validation loss', log: log.checked,
      series: ids.map((id) => {
        const job = jobs.find((j) => j.id === id)
        return { label: `${job.name} ${id.slice(0, 8)}` }
      }),
      describe: (xs) => `${ids.length} jobs over ${xs.length} epochs`,
    })
    chart.setData(x, ys)
    figure.dataset.series = String(ids.length)
  }
  list.append(...jobs.map((job) => h('label', { className: 'inline' },
    h('input', {
      type: 'checkbox', value: job.id, checked: chosen.has(job.id),
      onchange: (e) => { e.target.checked ? chosen.add(job.id) : chosen.delete(job.id); void draw() },
    }), ` ${job.name} `, h('span', { className: 'muted' }, `${job.id.slice(0, 8)} (${job.status})`))))
  which.addEventListener('change', () => void draw())
  log.addEventListener('change', () => void draw())
  await draw()
}
