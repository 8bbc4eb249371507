/** Tiny DOM helpers: build elements without innerHTML, so API text is never markup. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value)
    else if (name === 'className') el.className = value
    else if (name === 'dataset') Object.assign(el.dataset, value)
    else if (value === true) el.setAttribute(name, '')
    else el.setAttribute(name, String(value))
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : String(child))
  }
  return el
}

/** Says something to screen-reader users (the polite live region). */
export function announce(text) {
  const region = document.getElementById('announcer')
  if (region) region.textContent = text
}

/** An error box (role=alert) with the service's message. */
export function errorBox(err) {
  return h('p', { className: 'error', role: 'alert' }, err.code ? `${err.message} (${err.code})` : String(err.message ?? err))
}

/** "3 s ago", "5 min ago" for ISO times. */
export function age(iso, now = Date.now()) {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

/** What the job is doing, as the UI shows it: a running job asked to stop is `cancelling`. */
export function shownStatus(job) {
  return job.cancel_requested && (job.status === 'running' || job.status === 'queued') ? 'cancelling' : job.status
}

export const FINISHED = new Set(['succeeded', 'failed', 'cancelled'])
