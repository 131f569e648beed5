// Partial ordering must order exactly as a full sort would, ties included.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { BestFirst, firstK } from '../../src/core/best-first.ts'

type Item = { key: number; id: number }
// Few distinct keys, so ties are common; ids are unique and break them.
const itemsArbitrary = fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 60 }).map((keys) => keys.map((key, id): Item => ({ key, id })))
const before = (a: Item, b: Item) => a.key > b.key || (a.key === b.key && a.id < b.id)
const sorted = (items: Item[]) => [...items].sort((a, b) => b.key - a.key || a.id - b.id)

describe('firstK', () => {
  it('is the first k of the full sort, in order', () => {
    fc.assert(
      fc.property(itemsArbitrary, fc.integer({ min: 0, max: 70 }), (items, k) => {
        expect(firstK(items, k, before)).toEqual(sorted(items).slice(0, k))
      }),
    )
  })
})

describe('BestFirst', () => {
  it('yields the full sort, one item at a time, then undefined', () => {
    fc.assert(
      fc.property(itemsArbitrary, (items) => {
        const order = new BestFirst(items, before)
        const taken: Item[] = []
        for (let item = order.next(); item !== undefined; item = order.next()) taken.push(item)
        expect(taken).toEqual(sorted(items))
        expect(order.next()).toBeUndefined()
      }),
    )
  })
})
