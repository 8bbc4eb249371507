/**
 * An embedded database answers synchronously; the storage interface returns Promises.
 * `Synchronous<Store>` is what a synchronous implementation writes (the same methods,
 * returning plain values), and `promised` turns it into the interface without restating
 * each method.
 */
export type Synchronous<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : T[K]
}

/**
 * Every method of `target`'s class, each returning a Promise (a throw becomes a rejection,
 * passed through `translate` first: the database's own errors become typed storage faults).
 */
export function promised<T extends object>(target: Synchronous<T>, translate: (err: unknown) => unknown = (err) => err): T {
  const view: Record<string, unknown> = {}
  const methods = target as unknown as Record<string, (...args: unknown[]) => unknown>
  for (const name of Object.getOwnPropertyNames(Object.getPrototypeOf(target))) {
    const descriptor = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(target), name)
    if (name === 'constructor' || typeof descriptor?.value !== 'function') continue
    view[name] = async (...args: unknown[]) => {
      try {
        return methods[name].apply(target, args)
      } catch (err) {
        throw translate(err)
      }
    }
  }
  return view as T
}
