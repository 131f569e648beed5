// ObjectStore wrappers for publish tests, usable in Node and in workerd: one
// that fails after N successful puts (a publish killed halfway), one that
// records every put.
import type { ObjectStore } from '../../src/core/object-store.ts'

export class SimulatedFailure extends Error {
  override name = 'SimulatedFailure'
}

/** `store` with its put replaced; head, get, list and delete pass through. */
function withPut(store: ObjectStore, put: ObjectStore['put']): ObjectStore {
  return {
    head: (key) => store.head(key),
    get: (key) => store.get(key),
    list: (options) => store.list(options),
    delete: (keys) => store.delete(keys),
    put,
  }
}

/** The first `allowed` puts go through, every later one throws (even when started concurrently); everything else passes through. */
export function failingAfter(store: ObjectStore, allowed: number): ObjectStore & { succeeded: string[] } {
  const succeeded: string[] = []
  let started = 0
  const put: ObjectStore['put'] = async (key, value, options) => {
    if (++started > allowed) throw new SimulatedFailure(`simulated failure: connection lost before ${key}`)
    const result = await store.put(key, value, options)
    succeeded.push(key)
    return result
  }
  return { ...withPut(store, put), succeeded }
}

/** Records the key of every put, in order. */
export function recording(store: ObjectStore): ObjectStore & { puts: string[] } {
  const puts: string[] = []
  const put: ObjectStore['put'] = (key, value, options) => {
    puts.push(key)
    return store.put(key, value, options)
  }
  return { ...withPut(store, put), puts }
}
