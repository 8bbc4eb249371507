/** The jobs table: newest first, refreshed live; pick rows to compare their loss curves. */
import { api, follow } from './api.js'
import { fmt } from './charts.js'
import { age, errorBox, h, shownStatus } from './dom.js'

/** The table is read again this often anyway (ages, and jobs another stream might miss). */
const REFRESH_MS = 10_000

function taskOf(job) {
  return job.data?.type ?? '?'
}

function modelOf(job) {
  const m = job.model ?? {}
  return `${m.type ?? '?'} ${m.hidden_size ?? ''}${m.num_layers > 1 ? `×${m.num_layers}` : ''}`.trim()
}

function row(job, selected, onSelect) {
  const { epoch, epochs } = job.progress
  const status = shownStatus(job)
  const percent = epochs > 0 ? Math.round((100 * epoch) / epochs) : 0
  return h('tr', { dataset: { job: job.id, status } },
    h('td', {}, h('input', {
      type: 'checkbox', 'aria-label': `Compare ${job.name} (${job.id.slice(0, 8)})`, checked: selected.has(job.id),
      onchange: (e) => onSelect(job.id, e.target.checked),
    })),
    h('td', {}, h('a', { href: `#/jobs/${job.id}` }, job.name), h('span', { className: 'muted id' }, ` ${job.id.slice(0, 8)}`)),
    h('td', {}, h('span', { className: `status status-${status}` }, status)),
    h('td', {}, taskOf(job)),
    h('td', {}, modelOf(job)),
    h('td', {}, h('progress', { max: String(Math.max(epochs, 1)), value: String(epoch), 'aria-label': `${job.name}: epoch ${epoch} of ${epochs}` }),
      h('span', { className: 'muted' }, ` ${epoch}/${epochs} (${percent}%)`)),
    h('td', { className: 'num' }, fmt(job.loss)),
    h('td', {}, h('time', { datetime: job.created_at, title: job.created_at }, age(job.created_at))),
  )
}

export function jobsView(root, signal) {
  const selected = new Set()
  const compare = h('a', { className: 'button', href: '#/compare', 'aria-disabled': 'true' }, 'Compare selected')
  const updateCompare = () => {
    compare.href = `#/compare?jobs=${[...selected].join(',')}`
    compare.setAttribute('aria-disabled', String(selected.size < 2))
    compare.textContent = `Compare selected (${selected.size})`
  }
  const onSelect = (id, on) => {
    if (on) selected.add(id)
    else selected.delete(id)
    updateCompare()
  }
  const body = h('tbody')
  const problem = h('div')
  const table = h('table', { className: 'jobs' },
    h('caption', {}, 'Jobs, newest first (updates live)'),
    h('thead', {}, h('tr', {},
      h('th', { scope: 'col' }, h('span', { className: 'visually-hidden' }, 'Compare')),
      ...['Name', 'Status', 'Task', 'Model', 'Progress', 'Loss', 'Age'].map((c) => h('th', { scope: 'col' }, c)))),
    body)
  root.replaceChildren(h('section', { 'aria-labelledby': 'jobs-title' },
    h('div', { className: 'toolbar' }, h('h2', { id: 'jobs-title' }, 'Jobs'), h('a', { className: 'button', href: '#/new' }, 'New job'), compare),
    problem, table))
  updateCompare()

  const refresh = async () => {
    try {
      const page = await api('/jobs?limit=100', { signal })
      problem.replaceChildren()
      // Keyboard users keep their place when the rows are rebuilt.
      const active = document.activeElement
      const focusedRow = body.contains(active) ? active.closest('tr')?.dataset.job : undefined
      const focusedTag = active?.tagName.toLowerCase()
      body.replaceChildren(...(page.items.length === 0
        ? [h('tr', {}, h('td', { colspan: '8' }, 'No jobs yet: submit one from ', h('a', { href: '#/new' }, 'New job'), '.'))]
        : page.items.map((job) => row(job, selected, onSelect))))
      if (focusedRow) body.querySelector(`tr[data-job="${CSS.escape(focusedRow)}"] ${focusedTag}`)?.focus()
    } catch (err) {
      if (!signal.aborted) problem.replaceChildren(errorBox(err))
    }
  }
  // Live: GET /events moves progress bars and losses in place; a new job or a status change
  // reads the table again (at most once per animation frame).
  let pending = false
  const refreshSoon = () => {
    if (pending) return
    pending = true
    requestAnimationFrame(() => {
      pending = false
      void refresh()
    })
  }
  // The latest epoch or progress event of each job, applied once per frame.
  const latest = new Map()
  let applying = false
  const apply = () => {
    applying = false
    for (const [job, e] of latest) update(job, e)
    latest.clear()
  }
  const onEvent = (e) => {
    if (e.event === 'status') return refreshSoon()
    latest.set(e.data.job, e)
    if (!applying) {
      applying = true
      requestAnimationFrame(apply)
    }
  }
  const update = (job, { event, data }) => {
    const tr = body.querySelector(`tr[data-job="${CSS.escape(job)}"]`)
    if (!tr) return refreshSoon()
    const bar = tr.querySelector('progress')
    const text = bar.nextElementSibling
    if (event === 'epoch') {
      bar.value = data.epoch
      text.textContent = ` ${data.epoch}/${data.epochs} (${Math.round((100 * data.epoch) / data.epochs)}%)`
      tr.querySelector('td.num').textContent = fmt(data.loss)
    } else if (event === 'progress') {
      bar.value = data.epoch - 1 + data.batch / data.batches
    }
  }
  void refresh().then(() => follow('/events', { signal, onEvent, onError: (err) => problem.replaceChildren(errorBox(err)) }))
  const loop = async () => {
    while (!signal.aborted) {
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS))
      if (!document.hidden && !signal.aborted) await refresh()
    }
  }
  void loop()
}
