import { readFileSync } from 'node:fs'
import { checkCell } from './cells.js'
import type { CaseResult } from './compare.js'
import type { Fixture } from './fixture.js'
import { checkClip, checkLoss, checkOptimizer } from './primitives.js'
import { checkTrajectory } from './trajectories.js'

export function loadFixture(path: string): Fixture {
  const fixture = JSON.parse(readFileSync(path, 'utf8')) as Fixture
  if (typeof fixture !== 'object' || fixture === null) throw new Error(`${path} does not hold a JSON object`)
  return fixture
}

/** Every case of every section the file has, one result each. */
export function runParity(fixture: Fixture): CaseResult[] {
  return [
    ...(fixture.cells ?? []).map(checkCell),
    ...(fixture.trajectories ?? []).map(checkTrajectory),
    ...(fixture.optimizers ?? []).map(checkOptimizer),
    ...(fixture.losses ?? []).map(checkLoss),
    ...(fixture.clip_grad_norm ?? []).map(checkClip),
  ]
}
