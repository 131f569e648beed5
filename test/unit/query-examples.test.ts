import { describe, expect, it } from 'vitest'
import { DEFAULT_FEATURIZER, featurize } from '../../src/core/featurizer.ts'
import { QueryExamples } from '../../scripts/build/query-examples.ts'
import type { PseudoQuery } from '../../scripts/build/pseudo-queries.ts'

describe('QueryExamples', () => {
  const queries: PseudoQuery[] = [
    { text: 'wind tunnel tests', doc: 3, kind: 'span' },
    { text: '— … !!', doc: 4, kind: 'title' }, // no tokens: left out
    { text: 'Mach 2 flow', doc: 5, kind: 'first-sentence' },
  ]
  const examples = new QueryExamples(queries, DEFAULT_FEATURIZER)

  it('leaves out queries without tokens, and featurizes each example when taken', () => {
    expect(examples.length).toBe(2)
    const first = examples.at(0)!
    expect(first.doc).toBe(3)
    expect(first.text).toBe('wind tunnel tests')
    expect(first.features).toEqual(featurize('wind tunnel tests', DEFAULT_FEATURIZER))
    expect(examples.at(1)!.doc).toBe(5)
    expect(examples.at(2)).toBeUndefined()
    // Every take is a fresh copy: a caller's edits never reach the next one.
    first.features.values[0] = 99
    expect(examples.at(0)!.features.values[0]).not.toBe(99)
  })

  it('carries the routing targets set for the first examples', () => {
    const set = new QueryExamples(queries, DEFAULT_FEATURIZER)
    const route = new Map([[7, 1]])
    set.setRoutes([route])
    expect(set.at(0)!.routeTo).toBe(route)
    expect(set.at(1)!.routeTo).toBeUndefined()
  })
})
