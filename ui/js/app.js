/** The dashboard's router (#/, #/new, #/jobs/ID, #/compare?jobs=...) and the API key field. */
import { apiKey, setApiKey } from './api.js'
import { compareView } from './compare-view.js'
import { jobView } from './job-view.js'
import { jobsView } from './jobs-view.js'
import { submitView } from './submit-view.js'

const view = document.getElementById('view')
let current = null

function route(event) {
  current?.abort()
  current = new AbortController()
  const { signal } = current
  const [path, query = ''] = location.hash.replace(/^#/, '').split('?')
  const params = new URLSearchParams(query)
  const job = /^\/jobs\/([^/]+)$/.exec(path)
  for (const link of document.querySelectorAll('nav a')) {
    const target = link.getAttribute('href')
    if (target === `#${path || '/'}`) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
  if (job) {
    document.title = 'Job · seqserve'
    void jobView(view, decodeURIComponent(job[1]), signal)
  } else if (path === '/new') {
    document.title = 'New job · seqserve'
    submitView(view, signal)
  } else if (path === '/compare') {
    document.title = 'Compare · seqserve'
    void compareView(view, params, signal)
  } else {
    document.title = 'Jobs · seqserve'
    jobsView(view, signal)
  }
  // After a navigation, keyboard and screen-reader users continue in the new view.
  if (event) view.focus({ preventScroll: true })
}

const keyInput = document.getElementById('api-key')
const keyState = document.getElementById('key-state')
keyInput.value = apiKey()
keyState.textContent = apiKey() ? 'key set for this tab' : ''
document.getElementById('key-form').addEventListener('submit', (e) => {
  e.preventDefault()
  setApiKey(keyInput.value.trim())
  keyState.textContent = apiKey() ? 'key set for this tab' : 'no key'
  route(null)
})

window.addEventListener('hashchange', route)
route()
