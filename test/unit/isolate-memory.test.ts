// The bench's isolate memory: a reading counts only after a confirmed collection,
// else the smallest of a few (garbage only adds to a reading).
import { describe, expect, it } from 'vitest'
import { isolateMemory, MEMORY_READINGS, type IsolateMemory } from '../../scripts/bench/isolate-memory.ts'

const MiB = 1048576
const reading = (heapMiB: number, collected: boolean): IsolateMemory => ({ heapUsedBytes: heapMiB * MiB, heapTotalBytes: heapMiB * MiB, backingStoreBytes: 10 * MiB, wasmMemoryBytes: 2 * MiB, collected })

function reader(readings: IsolateMemory[]) {
  let taken = 0
  return { read: async () => readings[taken++], taken: () => taken }
}

describe('isolateMemory', () => {
  it('keeps the first reading that follows a confirmed collection', async () => {
    const fake = reader([reading(41, false), reading(16, true), reading(12, true)])
    expect(await isolateMemory('http://x', 1, fake.read)).toEqual(reading(16, true))
    expect(fake.taken()).toBe(2)
  })

  it('without any confirmed collection, the smallest reading', async () => {
    const fake = reader([reading(41, false), reading(20, false), reading(30, false), reading(1, false)])
    expect(await isolateMemory('http://x', 1, fake.read)).toEqual(reading(20, false))
    expect(fake.taken()).toBe(MEMORY_READINGS)
  })
})
