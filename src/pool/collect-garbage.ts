import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/**
 * V8's full garbage collection, for a worker that just dropped a model instance's working
 * memory (hundreds of MiB of WebAssembly memory after a very long prompt): that memory goes
 * back to the system only when the collector runs, and an idle worker allocates too little
 * to trigger it. `gc()` needs --expose-gc, which worker threads cannot take as an option;
 * setting the flag before creating a context exposes it there (jest's leak detector does the
 * same). A no-op where the runtime does not allow it.
 */
export function fullGarbageCollector(): () => void {
  try {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('gc')
    if (typeof gc === 'function') return () => (gc as () => void)()
  } catch {
    // Not available: memory is returned when the collector next runs on its own.
  }
  return () => undefined
}
