/**
 * training.lr_scheduler, training.early_stopping and per-epoch metrics through the real
 * service (HTTP server, worker threads, SQLite): clear 400s, defaults in the stored job,
 * learning rates equal to PyTorch's reference values, metrics that agree with independent
 * computations (predictions, the series' own spread), early stopping that serves the best
 * weights, and the SVG chart read back into the stored losses.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { DOMParser, type Element } from '@xmldom/xmldom'
import t from 'tap'
import { Predictor } from '../../src/engine/tasks/predictor.js'
import type { JobSpec } from '../../src/engine/tasks/spec.js'
import { splitIndices } from '../../src/engine/tasks/task.js'
import { Trainer } from '../../src/engine/tasks/trainer.js'
import { Rng } from '../../src/engine/rng.js'
import { configFromEnv } from '../helpers/config.js'
import { REPO_ROOT } from '../helpers/engine.js'
import { type JsonObject, seriesJob, textJob, tutorialJob } from '../helpers/jobs.js'
import { readError, startServer } from '../helpers/server.js'
import { type LossPointBody, startService, tempDir } from '../helpers/service.js'

const dir = tempDir(t)
const validationFailed = { statusCode: 400, code: 'validation_failed', error: 'Bad Request' }
const unknownField = { statusCode: 400, code: 'unknown_field', error: 'Bad Request' }

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima',
  'mike', 'november', 'oscar', 'papa', 'quebec', 'romeo', 'sierra', 'tango', 'uniform', 'victor', 'whiskey', 'xray']
/** Labels with no pattern: the model memorises the training words and validation loss soon rises. */
const overfittingJob = (training: JsonObject): JsonObject => ({
  name: 'overfit',
  model: { type: 'gru', hidden_size: 32 },
  data: { type: 'classes', examples: WORDS.map((w, i) => ({ input: w, label: 'abc'[(i * 7 + w.length) % 3] })) },
  training: { epochs: 60, learning_rate: 0.05, batch_size: 4, seed: 3, validation_split: 0.3, ...training },
})

t.test('bad schedules and early-stopping settings are 400s that say what to fix', async (t) => {
  const service = await startService(t, { dir, training: false })
  const cases: [string, JsonObject, typeof validationFailed, string | RegExp][] = [
    ['unknown scheduler', { lr_scheduler: { type: 'CyclicLR' } }, validationFailed, /lr_scheduler\/type must be one of "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau"/],
    ['StepLR without step_size', { lr_scheduler: { type: 'StepLR' } }, validationFailed, /body\/training\/lr_scheduler\/step_size is required/],
    ['a misspelt option', { lr_scheduler: { type: 'StepLR', step_size: 3, gama: 0.5 } }, unknownField, /lr_scheduler has unknown field "gama"/],
    ['step_per hourly', { lr_scheduler: { type: 'ExponentialLR', gamma: 0.9, step_per: 'hour' } }, validationFailed, /step_per/],
    ['plateau per batch', { lr_scheduler: { type: 'ReduceLROnPlateau', step_per: 'batch' } }, validationFailed, 'training.lr_scheduler: ReduceLROnPlateau steps once per epoch on the monitored value; set step_per to "epoch" (or omit it)'],
    ['OneCycleLR too short', { epochs: 30, lr_scheduler: { type: 'OneCycleLR', max_lr: 0.1, total_steps: 20 } }, validationFailed, /total_steps \(20\) is less than the 30 steps this job takes/],
    ['momentum cycling with adagrad', { optimizer: 'adagrad', lr_scheduler: { type: 'OneCycleLR', max_lr: 0.1 } }, validationFailed, /cycle_momentum needs an optimizer with momentum .* set cycle_momentum to false/],
    ['val_loss without a split', { validation_split: 0, early_stopping: { monitor: 'val_loss' } }, validationFailed, /training\.early_stopping\.monitor is "val_loss", .*validation_split > 0/],
    ['a metric the task lacks', { early_stopping: { monitor: 'val_rmse' } }, validationFailed, /"val_rmse", which a classes job does not report; choose one of loss, accuracy, val_loss, val_accuracy/],
    ['negative patience', { early_stopping: { patience: -1 } }, validationFailed, /early_stopping\/patience must be >= 0/],
    ['a misspelt early-stopping field', { early_stopping: { patiense: 3 } }, unknownField, /early_stopping has unknown field "patiense"/],
  ]
  for (const [label, training, expected, message] of cases) {
    const error = await readError(t, await service.postJson('/jobs', overfittingJob(training)), expected)
    t.match(error.message, message, `${label}: ${error.message}`)
  }
})

t.test('the stored job shows every default: PyTorch\'s for the scheduler, the monitor the task implies', async (t) => {
  const service = await startService(t, { dir, training: false })
  const job = await service.submitOk(overfittingJob({
    lr_scheduler: { type: 'ReduceLROnPlateau' }, early_stopping: { monitor: 'val_accuracy' },
  }))
  t.same(job.training.lr_scheduler, {
    type: 'ReduceLROnPlateau', step_per: 'epoch', monitor: 'val_loss', mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4,
    threshold_mode: 'rel', cooldown: 0, min_lr: 0, eps: 1e-8,
  }, 'ReduceLROnPlateau: torch defaults, watching val_loss')
  t.same(job.training.early_stopping, { monitor: 'val_accuracy', mode: 'max', patience: 0, min_delta: 0, restore_best: false }, 'early stopping: Keras defaults, accuracy maximised')
  const cycle = await service.submitOk(tutorialJob({ training: { epochs: 50, lr_scheduler: { type: 'OneCycleLR', max_lr: 0.2 }, early_stopping: {} } }))
  t.match(cycle.training.lr_scheduler, { type: 'OneCycleLR', step_per: 'epoch', max_lr: 0.2, pct_start: 0.3, anneal_strategy: 'cos', cycle_momentum: true, base_momentum: 0.85, max_momentum: 0.95, div_factor: 25, final_div_factor: 1e4, three_phase: false })
  t.notOk('total_steps' in (cycle.training.lr_scheduler as object), 'total_steps stays "every step the job takes"')
  t.match(cycle.training.early_stopping, { monitor: 'loss', mode: 'min' }, 'without a split early stopping watches loss')
  t.equal(cycle.stopped_early, false)
})

interface ScheduleCase { scheduler: string; options: Record<string, unknown>; lrs: number[]; steps: number }
const reference = JSON.parse(readFileSync(resolve(REPO_ROOT, 'test/fixtures/torch_schedulers.json'), 'utf8')) as { cases: ScheduleCase[] }

t.test('per-epoch learning rates in /losses are PyTorch\'s (torch_schedulers.json)', async (t) => {
  const service = await startService(t, { dir })
  const picks = reference.cases.filter((c) => ['StepLR', 'CosineAnnealingLR', 'OneCycleLR'].includes(c.scheduler) && !('optimizer' in c)).slice(0, 4)
  const jobs = await Promise.all(picks.map((c) => service.submitOk(tutorialJob({
    training: { epochs: c.steps, optimizer: 'sgd', momentum: 0.9, learning_rate: 0.1, lr_scheduler: { type: c.scheduler, ...c.options } },
  }))))
  for (const [i, c] of picks.entries()) {
    t.equal((await service.waitForEnd(jobs[i].id)).status, 'succeeded')
    const lrs = (await service.losses(jobs[i].id)).map((p) => p.lr!)
    const worst = Math.max(...lrs.map((lr, k) => (lr === c.lrs[k] ? 0 : Math.abs(lr - c.lrs[k]) / Math.abs(c.lrs[k]))))
    t.equal(lrs.length, c.steps, `${c.scheduler} ${JSON.stringify(c.options)}: one lr per epoch`)
    t.ok(worst <= 1e-12, `${c.scheduler} ${JSON.stringify(c.options)}: within 1e-12 of PyTorch (worst ${worst})`)
  }
})

t.test('metrics agree with independent computations', async (t) => {
  const service = await startService(t, { dir })
  const seriesBody = seriesJob({ training: { epochs: 15, validation_split: 0.2 } })
  const [series, text, pairs, classes] = await Promise.all([
    service.submitOk(seriesBody),
    service.submitOk(textJob({ training: { epochs: 6, validation_split: 0.2 } })),
    service.submitOk(tutorialJob({ training: { epochs: 60 } })),
    service.submitOk(overfittingJob({ epochs: 12 })),
  ])
  for (const job of [series, text, pairs, classes]) t.equal((await service.waitForEnd(job.id)).status, 'succeeded', `${job.name} succeeded`)
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))

  // Series: the loss is the MSE of z-scores, so RMSE in original units = sqrt(loss) * the series' std.
  const values = (seriesBody.data as { series: number[] }).series
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / values.length)
  const seriesPoints = await service.losses(series.id)
  t.ok(seriesPoints.every((p) => Object.keys(p.metrics!).sort().join() === 'mae,rmse,val_mae,val_rmse'), 'series: mae, rmse and val_ twins every epoch')
  t.ok(seriesPoints.every((p) => close(p.metrics!.rmse, Math.sqrt(p.loss) * std) && close(p.metrics!.val_rmse, Math.sqrt(p.val_loss!) * std)), 'rmse = sqrt(mse) x std, on train and validation')
  t.ok(seriesPoints.every((p) => p.metrics!.mae <= p.metrics!.rmse + 1e-12), 'mae <= rmse')

  const textPoints = await service.losses(text.id)
  t.ok(textPoints.every((p) => close(p.metrics!.perplexity, Math.exp(p.loss)) && close(p.metrics!.val_bpc, p.val_loss! / Math.log(2))), 'text: perplexity = e^loss, bpc = loss / ln 2')

  const pairPoints = await service.losses(pairs.id)
  t.ok(pairPoints[0].metrics!.accuracy < 1, `pairs: epoch 1 gets ${pairPoints[0].metrics!.accuracy} of the characters right`)
  t.same(pairPoints.at(-1)!.metrics, { accuracy: 1, sequence_accuracy: 1 }, 'pairs: every character of the sequence by the end')
  t.ok(pairPoints.every((p) => p.metrics!.sequence_accuracy <= p.metrics!.accuracy), 'a whole sequence right implies its characters right')

  // Classes: the last epoch's val_accuracy is the served model's accuracy on the held-out examples.
  const examples = ((overfittingJob({}).data as { examples: { input: string; label: string }[] }).examples)
  const held = splitIndices(examples.length, 0.3, new Rng(3).derive('validation')).validation
  const response = await service.postJson('/predict', { job: classes.id, inputs: Array.from(held, (i) => examples[i].input) })
  const predicted = ((await response.json()) as { predictions: { label: string }[] }).predictions.map((p) => p.label)
  const right = predicted.filter((label, k) => label === examples[held[k]].label).length
  t.equal((await service.losses(classes.id)).at(-1)!.metrics!.val_accuracy, right / held.length, `val_accuracy = ${right}/${held.length} predictions right`)
})

/** Reads the chart like a person would: tick labels give the scales, the polylines the values. */
function readChart(svg: string) {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml')
  const all = (name: string) => Array.from(doc.getElementsByTagName(name)) as Element[]
  const byClass = (cls: string) => all('g').filter((g) => g.getAttribute('class') === cls)
  const ticks = (axis: 'x' | 'y') => Array.from(byClass(`${axis}-axis`)[0].getElementsByTagName('g')).map((g) => ({
    value: Number(g.getElementsByTagName('text')[0].textContent),
    pixel: Number(g.getElementsByTagName('line')[0].getAttribute(axis === 'x' ? 'x1' : 'y1')),
  }))
  const scale = (axis: 'x' | 'y') => {
    const tk = ticks(axis)
    const [a, b] = [tk[0], tk.at(-1)!]
    return { ticks: tk, toValue: (px: number) => a.value + ((px - a.pixel) * (b.value - a.value)) / (b.pixel - a.pixel) }
  }
  const x = scale('x')
  const y = scale('y')
  const curves = new Map(all('polyline').map((p) => [p.getAttribute('data-series')!, p.getAttribute('points')!.split(' ').map((pair) => {
    const [px, py] = pair.split(',').map(Number)
    return { epoch: x.toValue(px), value: y.toValue(py) }
  })]))
  const stop = byClass('early-stop')[0]
  return {
    root: doc.documentElement!, x, y, curves, labels: all('text').map((e) => e.textContent ?? ''),
    stopEpoch: stop ? x.toValue(Number(stop.getElementsByTagName('line')[0].getAttribute('x1'))) : null,
  }
}

t.test('early stopping ends a diverging-validation job with the best weights served; the SVG shows it', async (t) => {
  const service = await startService(t, { dir })
  const body = overfittingJob({ early_stopping: { patience: 3, restore_best: true } })
  const submitted = await service.submitOk(body)
  const job = await service.waitForEnd(submitted.id)
  t.equal(job.status, 'succeeded', 'succeeded')
  t.equal(job.stopped_early, true, 'stopped_early')
  t.ok(job.progress.epoch < 60, `stopped after epoch ${job.progress.epoch} of 60`)
  const points = await service.losses(job.id)
  t.equal(points.length, job.progress.epoch, 'one loss point per trained epoch')
  const valLosses = points.map((p) => p.val_loss!)
  const best = valLosses.indexOf(Math.min(...valLosses)) + 1
  t.ok(best < job.progress.epoch && valLosses.at(-1)! > valLosses[best - 1], `val_loss rose after its best epoch ${best}`)
  t.equal(job.progress.epoch - best, 3, 'stopped patience = 3 epochs after the best')

  // The served weights are those after the best epoch: the same spec trained in-process for `best` epochs.
  const spec = { model: job.model, data: body.data, training: { ...job.training, epochs: best, early_stopping: undefined } } as unknown as JobSpec
  const upToBest = new Trainer(spec)
  while (!upToBest.done) upToBest.runEpoch()
  const { body: served } = await service.getJson<Record<string, { data: number[] }>>(`/jobs/${job.id}/weights`)
  const expected = new Predictor(upToBest.checkpoint()).stateDict()
  t.same(Object.fromEntries(Object.entries(served).map(([k, v]) => [k, v.data])), Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, v.data])), 'GET /weights = the best epoch\'s weights')

  const response = await service.fetch(`/jobs/${job.id}/losses?format=svg`)
  t.equal(response.status, 200)
  t.match(response.headers.get('content-type'), /^image\/svg\+xml/, 'image/svg+xml')
  t.equal(response.headers.get('cross-origin-resource-policy'), 'cross-origin', 'embeddable from other origins (no keys configured)')
  t.equal(response.headers.get('access-control-allow-origin'), '*')
  const chart = readChart(await response.text())
  t.equal(chart.root.tagName, 'svg')
  t.ok(chart.labels.includes('epoch') && chart.labels.includes('cross-entropy (nats)'), 'axes say what they measure, with units')
  t.ok(chart.x.ticks.length >= 3 && chart.x.ticks.every((tk) => Number.isInteger(tk.value)), 'integer epoch ticks')
  const yTolerance = (chart.y.ticks.at(-1)!.value - chart.y.ticks[0].value) * 1e-4
  for (const [series, pick] of [['loss', (p: LossPointBody) => p.loss], ['val_loss', (p: LossPointBody) => p.val_loss!]] as const) {
    const curve = chart.curves.get(series)!
    t.equal(curve.length, points.length, `${series}: one vertex per epoch`)
    const off = curve.filter((v, i) => Math.abs(v.epoch - points[i].epoch) > 0.01 || Math.abs(v.value - pick(points[i])) > yTolerance)
    t.same(off, [], `${series}: every vertex maps back to the stored value`)
  }
  t.ok(Math.abs(chart.stopEpoch! - job.progress.epoch) < 0.01, `the early-stop mark sits at epoch ${job.progress.epoch}`)
})

t.test('the SVG of a job without epochs or a split, and behind API keys', async (t) => {
  const service = await startService(t, { dir })
  const plain = await service.submitOk(tutorialJob({ training: { epochs: 25 } }))
  await service.waitForEnd(plain.id)
  const chart = readChart(await (await service.fetch(`/jobs/${plain.id}/losses?format=svg`)).text())
  t.same([...chart.curves.keys()], ['loss'], 'no validation curve without a split')
  t.equal(chart.stopEpoch, null, 'no early-stop mark')
  const keyed = await startServer(t, { config: configFromEnv({ API_KEYS: JSON.stringify({ 'k3y-0123456789abcdef0123456789': ['admin'] }) }) })
  const auth = { authorization: 'Bearer k3y-0123456789abcdef0123456789' }
  const queued = await (await keyed.postJson('/jobs', tutorialJob(), auth)).json() as { id: string }
  const svg = await keyed.fetch(`/jobs/${queued.id}/losses?format=svg`, { headers: auth })
  t.equal(svg.status, 200)
  t.equal(svg.headers.get('cross-origin-resource-policy'), 'same-origin', 'with keys the chart stays same-origin')
  t.equal(svg.headers.get('access-control-allow-origin'), null)
  t.ok(readChart(await svg.text()).labels.includes('no finished epoch yet'), 'a queued job gets an empty chart that says so')
  t.equal((await keyed.fetch(`/jobs/${queued.id}/losses?format=svg`)).status, 401, 'and needs the key')
})
