/**
 * Line charts on uPlot (served from node_modules at /ui/vendor/uplot/). Each chart sits in a
 * <figure> whose data-points attribute counts the x values drawn, and whose caption says
 * the same in words for screen readers.
 */
import uPlot from '/ui/vendor/uplot/uPlot.esm.js'

/** Colours with at least 3:1 contrast against the white chart background. */
export const PALETTE = ['#1f5fbf', '#b5400b', '#1b7a3a', '#8a2be2', '#a61b4a', '#5b6b00', '#00727a', '#6b4c00']

/**
 * A chart of y series over one x axis. `series`: [{label, color, dash}]; `log`: a
 * logarithmic y axis; `points`: draw markers (short series).
 */
export function lineChart(figure, { xLabel, yLabel, series, log = false, describe }) {
  figure.classList.add('chart')
  figure.replaceChildren()
  const plotHost = document.createElement('div')
  const caption = document.createElement('figcaption')
  caption.className = 'visually-hidden'
  figure.append(plotHost, caption)
  const width = () => Math.max(280, Math.min(900, figure.clientWidth || 640))
  const opts = {
    width: width(),
    height: 260,
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [
      { label: xLabel, stroke: '#222' },
      { label: yLabel, stroke: '#222', size: 70 },
    ],
    series: [
      { label: xLabel },
      ...series.map((s, i) => ({
        label: s.label, stroke: s.color ?? PALETTE[i % PALETTE.length], width: 2,
        ...(s.dash && { dash: [6, 4] }), spanGaps: true, points: { show: s.points ?? false },
      })),
    ],
    legend: { live: true },
  }
  let data = [[], ...series.map(() => [])]
  const plot = new uPlot(opts, data, plotHost)
  const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 260 }))
  resize.observe(figure)
  return {
    plot,
    setData(x, ys) {
      // A log axis cannot show zero or negative values: they become gaps.
      const clean = log ? ys.map((y) => y.map((v) => (v != null && v > 0 ? v : null))) : ys
      data = [x, ...clean]
      plot.setData(data)
      figure.dataset.points = String(x.length)
      caption.textContent = describe ? describe(x, ys) : `${x.length} points`
    },
    destroy() {
      resize.disconnect()
      plot.destroy()
    },
  }
}

/** Numbers for tables: 4 significant digits, or a dash. */
export function fmt(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–'
  if (value === 0) return '0'
  const abs = Math.abs(value)
  return abs >= 1e5 || abs < 1e-3 ? value.toExponential(3) : String(Number(value.toPrecision(4)))
}
