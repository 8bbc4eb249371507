/**
 * The loss curve as a self-contained SVG (GET /jobs/{id}/losses?format=svg): training and
 * validation loss per epoch on linear axes with ticks and units, and the epoch where early
 * stopping ended the job. Presentation attributes only (no <style>, no script), so it renders
 * under the API's `default-src 'none'` CSP, inside <img> and in notebooks alike.
 */
import type { LossPoint } from '../../storage/types.js'

export interface LossChart {
  title: string
  /** The loss and its unit, e.g. "cross-entropy (nats)". */
  lossLabel: string
  points: readonly LossPoint[]
  /** Epoch after which early stopping ended the job, or null. */
  stoppedAt: number | null
}

const WIDTH = 720
const HEIGHT = 400
const MARGIN = { left: 72, right: 24, top: 40, bottom: 56 }
const TRAIN_COLOR = '#1f77b4'
const VALIDATION_COLOR = '#d62728'

/** A tick step of 1, 2 or 5 x 10^k giving about `count` intervals over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count
  const power = 10 ** Math.floor(Math.log10(raw))
  const m = raw / power
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power
}

/** Multiples of `step` within [lo, hi], without float noise (0.30000000000000004). */
function ticksOf(lo: number, hi: number, step: number): number[] {
  const out: number[] = []
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) out.push(Number((k * step).toPrecision(12)))
  return out
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

const fmt = (v: number) => String(Number(v.toFixed(2)))

export function lossChartSvg(chart: LossChart): string {
  const { points } = chart
  const plotW = WIDTH - MARGIN.left - MARGIN.right
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom
  const lastEpoch = points.at(-1)?.epoch ?? 1
  const x0 = 1
  const x1 = Math.max(lastEpoch, 2)
  const values = points.flatMap((p) => (p.valLoss === null ? [p.loss] : [p.loss, p.valLoss]))
  let y0 = values.length > 0 ? Math.min(...values) : 0
  let y1 = values.length > 0 ? Math.max(...values) : 1
  if (y1 - y0 < 1e-12 * Math.max(1, Math.abs(y1))) {
    const pad = Math.max(Math.abs(y1) * 0.05, 1e-6)
    y0 -= pad
    y1 += pad
  }
  const yStep = niceStep(y1 - y0, 6)
  // The axis starts and ends on ticks, so every value lies inside it.
  y0 = Math.floor(y0 / yStep + 1e-9) * yStep
  y1 = Math.ceil(y1 / yStep - 1e-9) * yStep
  const sx = (epoch: number) => MARGIN.left + ((epoch - x0) / (x1 - x0)) * plotW
  const sy = (value: number) => MARGIN.top + (1 - (value - y0) / (y1 - y0)) * plotH
  const xTicks = ticksOf(x0, x1, Math.max(1, niceStep(x1 - x0, 8)))
  const yTicks = ticksOf(y0, y1, yStep)
  const bottom = MARGIN.top + plotH

  const parts: string[] = []
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="chart-title" font-family="sans-serif" font-size="12">`)
  parts.push(`<title id="chart-title">${escapeXml(chart.title)}</title>`)
  parts.push(`<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`)
  parts.push(`<text x="${MARGIN.left}" y="24" font-size="15" fill="#111111">${escapeXml(chart.title)}</text>`)
  parts.push('<g class="x-axis">')
  for (const v of xTicks) {
    parts.push(`<g class="tick" data-value="${v}"><line x1="${fmt(sx(v))}" x2="${fmt(sx(v))}" y1="${MARGIN.top}" y2="${bottom + 5}" stroke="#e5e5e5"/>` +
      `<text x="${fmt(sx(v))}" y="${bottom + 20}" text-anchor="middle" fill="#333333">${v}</text></g>`)
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${bottom}" y2="${bottom}" stroke="#333333"/>`)
  parts.push(`<text class="label" x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle" fill="#111111">epoch</text>`)
  parts.push('</g>')
  parts.push('<g class="y-axis">')
  for (const v of yTicks) {
    parts.push(`<g class="tick" data-value="${v}"><line x1="${MARGIN.left - 5}" x2="${MARGIN.left + plotW}" y1="${fmt(sy(v))}" y2="${fmt(sy(v))}" stroke="#e5e5e5"/>` +
      `<text x="${MARGIN.left - 8}" y="${fmt(sy(v) + 4)}" text-anchor="end" fill="#333333">${v}</text></g>`)
  }
  parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${bottom}" stroke="#333333"/>`)
  parts.push(`<text class="label" transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#111111">${escapeXml(chart.lossLabel)}</text>`)
  parts.push('</g>')

  const curve = (name: string, color: string, pick: (p: LossPoint) => number | null, dash = '') => {
    const xy = points.flatMap((p) => {
      const v = pick(p)
      return v === null ? [] : [`${fmt(sx(p.epoch))},${fmt(sy(v))}`]
    })
    if (xy.length === 0) return
    parts.push(`<polyline class="curve" data-series="${name}" points="${xy.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`)
  }
  curve('loss', TRAIN_COLOR, (p) => p.loss)
  curve('val_loss', VALIDATION_COLOR, (p) => p.valLoss, ' stroke-dasharray="6 3"')

  if (chart.stoppedAt !== null) {
    const x = fmt(sx(chart.stoppedAt))
    parts.push(`<g class="early-stop" data-epoch="${chart.stoppedAt}"><line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${bottom}" stroke="#555555" stroke-dasharray="2 3"/>` +
      `<text x="${x}" y="${MARGIN.top - 4}" text-anchor="end" fill="#555555">stopped early after epoch ${chart.stoppedAt}</text></g>`)
  }
  if (points.length === 0) {
    parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH / 2}" text-anchor="middle" fill="#555555">no finished epoch yet</text>`)
  }
  const legend = [['training loss', TRAIN_COLOR, ''], ...(points.some((p) => p.valLoss !== null) ? [['validation loss', VALIDATION_COLOR, ' stroke-dasharray="6 3"']] : [])]
  legend.forEach(([label, color, dash], i) => {
    const lx = WIDTH - MARGIN.right - 250 + i * 130
    parts.push(`<g class="legend"><line x1="${lx}" x2="${lx + 24}" y1="20" y2="20" stroke="${color}" stroke-width="2"${dash}/><text x="${lx + 30}" y="24" fill="#111111">${label}</text></g>`)
  })
  parts.push('</svg>')
  return parts.join('\n') + '\n'
}

/** The loss and its unit for a task, for the chart's y axis. */
export function lossLabel(dataType: unknown): string {
  return dataType === 'series' ? 'mean squared error (standardised units²)' : 'cross-entropy (nats)'
}
