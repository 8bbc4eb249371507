import os from 'node:os'

/**
 * Lowers the calling thread's CPU priority by `nice` steps (WORKER_NICE, PREDICT_WORKER_NICE).
 * Compute threads (training, inference) then yield the core to the event loop whenever it has
 * work: the API's latency does not depend on how busy the pools are (README "Serving").
 * Linux keeps a nice value per thread, so this leaves the rest of the process alone; elsewhere
 * it would renice the whole process, so it does nothing there.
 */
export function lowerThreadPriority(nice: number): void {
  if (!(nice > 0) || process.platform !== 'linux') return
  try {
    os.setPriority(Math.min(19, os.getPriority() + nice))
  } catch {
    // Not permitted here: the thread keeps its priority.
  }
}
