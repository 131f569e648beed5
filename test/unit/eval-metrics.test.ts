// nDCG@10, MRR@10, R@100 and top-10 overlap on small made-up rankings, checked by hand.
import { describe, expect, it } from 'vitest'
import { gainOf, meanOf, mrrAt, ndcgAt, overlapAt, rankingMetrics, recallAt } from '../../scripts/eval/metrics.ts'

const judged = new Map([
  ['a', 3],
  ['b', 1],
  ['c', 2],
  ['z', 0], // judged, not relevant
])

describe('eval metrics', () => {
  it('nDCG@k with exponential gains (2^g − 1) and log2 discount', () => {
    // ranking b, x, a: DCG = 1/log2(2) + 0 + 7/log2(4) = 1 + 3.5; ideal a, c, b: 7 + 3/log2(3) + 1/2
    const dcg = 1 + 7 / 2
    const idcg = 7 + 3 / Math.log2(3) + 1 / 2
    expect(ndcgAt(['b', 'x', 'a'], judged, 10)).toBeCloseTo(dcg / idcg, 12)
    expect(ndcgAt(['a', 'c', 'b'], judged, 10)).toBeCloseTo(1, 12)
    expect(ndcgAt(['x', 'y', 'z'], judged, 10)).toBe(0)
  })

  it('nDCG@k with linear gains (trec_eval)', () => {
    const dcg = 1 + 3 / 2
    const idcg = 3 + 2 / Math.log2(3) + 1 / 2
    expect(ndcgAt(['b', 'x', 'a'], judged, 10, 'linear')).toBeCloseTo(dcg / idcg, 12)
    expect(gainOf(0, 'linear')).toBe(0)
    expect(gainOf(-1, 'exponential')).toBe(0)
  })

  it('nDCG@k cuts at k, ranking and ideal both', () => {
    // Only the first document counts at k = 1: b (gain 1) against the ideal a (gain 7).
    expect(ndcgAt(['b', 'a', 'c'], judged, 1)).toBeCloseTo(1 / 7, 12)
    const many = Array.from({ length: 12 }, (_, i) => `d${i}`)
    expect(ndcgAt([...many, 'a'], judged, 10)).toBe(0)
  })

  it('MRR@k: reciprocal rank of the first document with grade > 0, within k', () => {
    expect(mrrAt(['z', 'x', 'c'], judged, 10)).toBeCloseTo(1 / 3, 12)
    expect(mrrAt(['a'], judged, 10)).toBe(1)
    expect(mrrAt([...Array.from({ length: 10 }, (_, i) => `d${i}`), 'a'], judged, 10)).toBe(0)
    expect(mrrAt([], judged, 10)).toBe(0)
  })

  it('R@k: relevant found in the top k over all relevant (grade 0 is not relevant)', () => {
    expect(recallAt(['a', 'z', 'q'], judged, 100)).toBeCloseTo(1 / 3, 12)
    expect(recallAt(['c', 'b', 'a'], judged, 2)).toBeCloseTo(2 / 3, 12)
    expect(recallAt(['a'], new Map([['a', 0]]), 100)).toBe(0)
  })

  it('overlap@k with a reference ranking', () => {
    expect(overlapAt(['a', 'b', 'c'], ['c', 'a', 'x', 'y'], 10)).toBeCloseTo(2 / 4, 12)
    expect(overlapAt(['a', 'b'], ['a', 'b', 'c'], 2)).toBe(1)
    expect(overlapAt(['a'], [], 10)).toBe(1)
  })

  it('rankingMetrics bundles the three; meanOf averages field by field', () => {
    const m = rankingMetrics(['a', 'c', 'b'], judged)
    expect(m).toEqual({ ndcg10: expect.closeTo(1, 12), mrr10: 1, r100: 1 })
    expect(meanOf([{ x: 1, y: 0 }, { x: 0, y: 1 }, { x: 2, y: 2 }])).toEqual({ x: 1, y: 1 })
    expect(meanOf([])).toEqual({})
  })
})
