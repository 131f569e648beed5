// The corpus-wide lexicon and lexical routing: built from the leaves' postings,
// encoded and decoded, turned into per-leaf scores, and merged into the probe plan.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { buildLexicon } from '../../scripts/build/lexical-index.ts'
import { addLexicalScores, LeafDocuments, type LexicalLeaves, type LexiconPart, type ShardPostings } from '../../src/core/lexical.ts'
import { decodeLexiconPart, encodeLexiconPart, ShardDecodeError } from '../../src/core/shard-codec.ts'
import { beamSearch, conditionalLogProbs, pathLogProbs } from '../../src/core/beam.ts'
import { lexicalQuery, lexiconPartsFor, MAX_LEXICON_PARTS, planBeam, planProbe, queryTerms, REFINE_BUDGETS } from '../../src/core/search.ts'
import { analyze, termCounts } from '../../src/core/lexical.ts'
import { buildTree } from '../../src/core/tree.ts'
import { nodeLexicalKernel } from '../../scripts/node-kernel.ts'
import type { LexicalConfig, SearchDefaults } from '../../src/core/manifest.ts'
import { postingsOf } from '../support/postings.ts'

const config: LexicalConfig = { kind: 'bm25', k1: 0.9, b: 0.4, avgDocLength: 10, seed: 1 }

/** A leaf's postings from its documents, each a list of (term, quantized weight). */
const leafPostings = (docs: [number, number][][]) => postingsOf(docs, (t) => 1 + (t % 7) / 2)

// Small term ids so documents share terms; leaves are numbered from 1 like tree nodes.
const leavesArbitrary = fc.array(fc.array(fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 255 })), { maxLength: 6 }), { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 6 }).map((leaves) =>
  leaves.map((docs, i) => ({ node: i + 1, postings: leafPostings(docs) })),
)
const queryArbitrary = fc.array(fc.tuple(fc.integer({ min: 0, max: 35 }), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 5 }).map((pairs) => new Map(pairs))

/** Per leaf, the best BM25 of its documents by brute force over its own postings. */
function bruteForce(leaves: { node: number; postings: ShardPostings }[], query: Map<number, number>, scale: number): Map<number, number> {
  const best = new Map<number, number>()
  for (const { node, postings } of leaves) {
    const scores = new Float32Array(Math.max(0, ...postings.rows) + 1)
    addLexicalScores(query, postings, scale, config, scores)
    const max = Math.max(0, ...scores)
    if (max > 0) best.set(node, max)
  }
  return best
}

/** Lexical routing's answer as a map, leaf → score, checking its two halves agree. */
function asMap(leaves: LexicalLeaves): Map<number, number> {
  for (let i = 1; i < leaves.nodes.length; i++) expect(leaves.nodes[i]).toBeGreaterThan(leaves.nodes[i - 1])
  const map = new Map(Array.from(leaves.nodes, (node) => [node, leaves.score[node]]))
  leaves.score.forEach((score, node) => expect(score > 0).toBe(map.has(node)))
  return map
}

/** A lexical routing answer with these leaf scores, for a tree of `size` nodes or more. */
function lexicalLeaves(entries: [number, number][] = [], size = 16): LexicalLeaves {
  const score = new Float64Array(Math.max(size, ...entries.map(([node]) => node + 1)))
  for (const [node, value] of entries) score[node] = value
  return { nodes: Int32Array.from(entries.map(([node]) => node).sort((a, b) => a - b)), score }
}

/** Each test leaf holds as many documents as its postings name. */
const leafDocumentsOf = (leaves: { node: number; postings: ShardPostings }[]) =>
  new LeafDocuments(leaves.map(({ node, postings }) => ({ node, docs: Math.max(0, ...postings.rows) + 1 })), Math.max(...leaves.map((l) => l.node)) + 1, nodeLexicalKernel())

describe('the lexicon', () => {
  it('without truncation, gives every leaf exactly its best BM25 (any split into parts)', () => {
    fc.assert(
      fc.property(leavesArbitrary, queryArbitrary, (leaves, query) => {
        const want = bruteForce(leaves, query, 0.1)
        for (const maxParts of [1, 2, 1024]) {
          const parts = buildLexicon(leaves, 1_000_000, maxParts)
          expect(parts.length).toBeLessThanOrEqual(maxParts)
          const got = asMap(leafDocumentsOf(leaves).leafScores(query, parts, 0.1, config))
          expect([...got.keys()].sort()).toEqual([...want.keys()].sort())
          for (const [leaf, score] of want) expect(got.get(leaf)).toBeCloseTo(score, 5)
        }
      }),
    )
  })

  it('gives the same scores when called again (it leaves its sums zeroed), and ignores postings outside the index', () => {
    fc.assert(
      fc.property(leavesArbitrary, queryArbitrary, queryArbitrary, (leaves, query, other) => {
        const documents = leafDocumentsOf(leaves)
        const parts = buildLexicon(leaves, 1_000_000, 2)
        const first = documents.leafScores(query, parts, 0.1, config)
        documents.leafScores(other, parts, 0.1, config)
        expect(documents.leafScores(query, parts, 0.1, config)).toEqual(first)
        // The same parts with every posting pointed past its leaf's rows, or at a node that is no leaf: nothing scores.
        const outside = parts.map((part) => ({ ...part, rows: part.rows.map(() => 1_000_000) }))
        expect(documents.leafScores(query, outside, 0.1, config).nodes.length).toBe(0)
        const noLeaf = parts.map((part) => ({ ...part, leaves: part.leaves.map(() => 0) }))
        expect(documents.leafScores(query, noLeaf, 0.1, config).nodes.length).toBe(0)
        const farLeaf = parts.map((part) => ({ ...part, leaves: part.leaves.map(() => 0xffffffff) }))
        expect(documents.leafScores(query, farLeaf, 0.1, config).nodes.length).toBe(0)
      }),
    )
  })

  it('keeps each term\'s topK highest-weighted postings, and its idf', () => {
    fc.assert(
      fc.property(leavesArbitrary, fc.integer({ min: 1, max: 4 }), (leaves, topK) => {
        const parts = buildLexicon(leaves, topK)
        for (const { postings } of leaves) {
          for (let i = 0; i < postings.terms.length; i++) {
            const term = postings.terms[i]
            const part = parts[term % parts.length]
            const at = part.terms.indexOf(term)
            expect(at).toBeGreaterThanOrEqual(0)
            expect(part.idf[at]).toBe(postings.idf[i])
            const kept = Array.from(part.weights.subarray(part.postingStart[at], part.postingStart[at + 1]))
            const all = leaves.flatMap((l) => {
              const j = l.postings.terms.indexOf(term)
              return j < 0 ? [] : Array.from(l.postings.weights.subarray(l.postings.postingStart[j], l.postings.postingStart[j + 1]))
            })
            expect(kept.sort((a, b) => b - a)).toEqual(all.sort((a, b) => b - a).slice(0, topK))
          }
        }
      }),
    )
  })

  it('round-trips through its codec and rejects damaged parts', () => {
    fc.assert(
      fc.property(leavesArbitrary, (leaves) => {
        for (const part of buildLexicon(leaves, 3)) expect(decodeLexiconPart(encodeLexiconPart(part))).toEqual(part)
      }),
    )
    const [part] = buildLexicon([{ node: 1, postings: leafPostings([[[1, 10], [2, 20]], [[2, 30]]]) }], 8)
    const bytes = encodeLexiconPart(part)
    expect(() => decodeLexiconPart(bytes.subarray(0, bytes.length - 3))).toThrow(ShardDecodeError)
    const shortLeaves: LexiconPart = { ...part, leaves: part.leaves.subarray(1) }
    expect(() => encodeLexiconPart(shortLeaves)).toThrow(/one leaf per posting/)
    // What R2 could hand back, packed by hand: the decoder checks it, not only the encoder.
    const packr = new Packr({ useRecords: false, moreTypes: false })
    const le = (values: Uint32Array | Float32Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength).slice()
    const raw = { format: 2, terms: le(part.terms), idf: le(part.idf), postingStart: le(part.postingStart), postingLeaves: le(part.leaves), postingRows: le(part.rows), postingWeights: part.weights }
    expect(decodeLexiconPart(packr.pack(raw))).toEqual(part)
    expect(() => decodeLexiconPart(packr.pack({ ...raw, postingLeaves: le(part.leaves.subarray(1)) }))).toThrow(/one leaf per posting/)
    expect(() => decodeLexiconPart(packr.pack({ ...raw, idf: le(part.idf.map((x) => -x - 1)) }))).toThrow(/lexicon part: idf must be finite and not negative/)
    expect(() => decodeLexiconPart(packr.pack({ ...raw, postingLeaves: le(part.leaves.map(() => 2 ** 22)) }))).toThrow(/leaf out of range/)
    expect(() => decodeLexiconPart(packr.pack({ ...raw, format: 1 }))).toThrow(/unsupported lexicon part format 1/)
    expect(() => decodeLexiconPart(packr.pack({ ...raw, postingWeights: part.weights.map(() => 0) }))).toThrow(/at least 1/)
    // Term 2's postings are (leaf 1, row 0), (leaf 1, row 1): swapped, or one repeated, they are out of order.
    const second = part.terms.indexOf(2)
    expect(part.postingStart[second + 1] - part.postingStart[second]).toBe(2)
    const swapped = Uint32Array.from(part.rows)
    ;[swapped[part.postingStart[second]], swapped[part.postingStart[second] + 1]] = [swapped[part.postingStart[second] + 1], swapped[part.postingStart[second]]]
    expect(() => decodeLexiconPart(packr.pack({ ...raw, postingRows: le(swapped) }))).toThrow(/\(leaf, row\) order/)
    const repeated = Uint32Array.from(part.rows)
    repeated[part.postingStart[second] + 1] = repeated[part.postingStart[second]]
    expect(() => decodeLexiconPart(packr.pack({ ...raw, postingRows: le(repeated) }))).toThrow(/\(leaf, row\) order/)
  })
})

describe('the probe plan', () => {
  // Root → 2 inner nodes → 3 leaves each: leaves are nodes 3..8.
  const tree = buildTree({ parent: [-1, 0, 0, 1, 1, 1, 2, 2, 2] })
  const logits = Float32Array.of(2, 0, 1, 0.5, 0, 0.3, 0.2, 0.1)
  const leafLogProbs = pathLogProbs(tree, conditionalLogProbs(tree, logits))
  const p = (leaf: number) => Math.exp(leafLogProbs[leaf])
  const search: SearchDefaults = { alpha: 0, beta: 1, beam: 2, probeDocs: 2 }
  const oneDoc = () => 1
  const sims = (values: Record<number, number>) => (leaf: number) => values[leaf] ?? 0
  const byNode = (values: Record<number, number>) => () => Float64Array.from({ length: tree.size }, (_, node) => values[node] ?? 0)
  /** Routing outputs whose part centroids say what the centroids say (the tests of the first ranking). */
  const outputsOf = (centroid: Record<number, number>) => ({ logits, centroidSims: byNode(centroid), partSim: sims(centroid) })
  const [first, second] = beamSearch(tree, logits, 2).map((d) => d.node)

  it('planBeam is the decoder alone: its beam, most probable first', () => {
    expect(planBeam(tree, logits, oneDoc, search).map((c) => c.node)).toEqual([first, second])
    expect(planBeam(tree, logits, oneDoc, { ...search, probeDocs: 1 }).map((c) => c.node)).toEqual([first])
  })

  it('ranks the beam by centroid similarity + α·p(cluster), with no lexical leaves', () => {
    const nearSecond = outputsOf({ [first]: 0.1, [second]: 0.5 })
    expect(planProbe(tree, nearSecond, oneDoc, search, lexicalLeaves()).map((c) => c.node)).toEqual([second, first])
    // A large α lets the decoder's probability decide again.
    expect(planProbe(tree, nearSecond, oneDoc, { ...search, alpha: 100 }, lexicalLeaves()).map((c) => c.node)).toEqual([first, second])
  })

  it('brings in a leaf outside the beam whose words match, ranked by β × its lexical score, with its full-tree probability', () => {
    const outputs = outputsOf({ [first]: 0.2, [second]: 0.1, 8: 0 })
    const plan = planProbe(tree, outputs, oneDoc, search, lexicalLeaves([[8, 0.5]]))
    expect(plan.map((c) => c.node)).toEqual([8, first]) // 0 + 1 × 0.5 beats 0.2
    expect(plan[0].logProb).toBeCloseTo(leafLogProbs[8], 6)
    expect(plan[0].prob).toBeCloseTo(p(8), 6)
    // A weak match does not displace the beam; β = 0 ignores it.
    expect(planProbe(tree, outputs, oneDoc, search, lexicalLeaves([[8, 0.05]])).map((c) => c.node)).toEqual([first, second])
    expect(planProbe(tree, outputs, oneDoc, { ...search, beta: 0 }, lexicalLeaves([[8, 0.5]])).map((c) => c.node)).toEqual([first, second])
  })

  it('refuses to rank a candidate without a centroid similarity rather than rank by NaN', () => {
    const missing = { logits, centroidSims: () => Float64Array.from({ length: tree.size }, (_, node) => (node === second ? NaN : 0)), partSim: sims({}) }
    expect(() => planProbe(tree, missing, oneDoc, search, lexicalLeaves())).toThrow(`candidate ${second} has no centroid similarity`)
  })

  it('adds no leaf for its centroid alone: candidates are the beam and the lexical leaves', () => {
    const outputs = outputsOf({ 4: 50, 7: 50 })
    const plan = planProbe(tree, outputs, oneDoc, { ...search, probeDocs: 100 }, lexicalLeaves())
    expect(new Set(plan.map((c) => c.node))).toEqual(new Set([first, second]))
  })

  it('ranks again by their nearest part centroid the leaves that cover REFINE_BUDGETS budgets by centroid, and only those', () => {
    expect(REFINE_BUDGETS).toBe(2)
    const centroidSims = byNode({ [first]: 0.5, [second]: 0.4, 8: 0 })
    const lexical = lexicalLeaves([[8, 0.05]])
    // By centroid: first (0.5), second (0.4), 8 (0 + 0.05). A budget of one leaf ranks the first two again.
    const plan = (partSim: (leaf: number) => number) => planProbe(tree, { logits, centroidSims, partSim }, oneDoc, { ...search, probeDocs: 1 }, lexical).map((c) => c.node)
    expect(plan(sims({ [first]: 0.5, [second]: 0.7, 8: 10 }))).toEqual([second])
    expect(plan(sims({ [first]: 0.5, [second]: 0.3, 8: 10 }))).toEqual([first])
    // Two leaves' budget: four ranked again, so leaf 8's part now counts.
    expect(planProbe(tree, { logits, centroidSims, partSim: sims({ [first]: 0.5, [second]: 0.4, 8: 10 }) }, oneDoc, { ...search, probeDocs: 2 }, lexical).map((c) => c.node)).toEqual([8, first])
  })

  it('counts the two budgets in documents: a big leaf first covers them alone, and nothing else is ranked again', () => {
    const centroidSims = byNode({ [first]: 0.5, [second]: 0.4 })
    const partSim = sims({ [first]: 0.5, [second]: 0.9 })
    const docs = (sizes: Record<number, number>) => (leaf: number) => sizes[leaf] ?? 1
    // first holds 4 documents, two budgets of 2: it alone is ranked again, so it is taken though second's part is nearer.
    expect(planProbe(tree, { logits, centroidSims, partSim }, docs({ [first]: 4 }), { ...search, probeDocs: 2 }, lexicalLeaves()).map((c) => c.node)).toEqual([first])
    // With one document each, both are ranked again and second's part puts it first.
    expect(planProbe(tree, { logits, centroidSims, partSim }, docs({}), { ...search, probeDocs: 1 }, lexicalLeaves()).map((c) => c.node)).toEqual([second])
  })

  it('ignores nodes that are not leaves of this tree (a damaged lexicon part)', () => {
    const plan = planProbe(tree, outputsOf({}), oneDoc, { ...search, probeDocs: 100 }, lexicalLeaves([[1, 9], [99, 9]]))
    expect(plan.map((c) => c.node).sort()).toEqual([first, second].sort())
  })
})

describe('the lexicon parts a query reads', () => {
  it('are its terms\' parts, in query order, at most MAX_LEXICON_PARTS', () => {
    const few = 'supersonic wing flutter at high mach numbers'
    expect(lexiconPartsFor(queryTerms(few, config), 1000)).toEqual([...new Set([...termCounts(analyze(few, config)).keys()].map((t) => t % 1000))])
    const many = Array.from({ length: 60 }, (_, i) => `word${i}x`).join(' ')
    const parts = lexiconPartsFor(queryTerms(many, config), 1000)
    expect(parts).toHaveLength(MAX_LEXICON_PARTS)
    expect(parts).toEqual([...new Set([...termCounts(analyze(many, config)).keys()].map((t) => t % 1000))].slice(0, MAX_LEXICON_PARTS))
    expect(lexiconPartsFor(queryTerms('the of and', config), 1000)).toEqual([]) // stopwords only
  })
})

describe('the lexical side of a query', () => {
  it('scores only the terms whose idf the parts read know, so BM25 / max stays within [0, 1]', () => {
    const [wing, flutter] = [...termCounts(analyze('wing flutter', config)).keys()]
    const leaves = [{ node: 1, postings: postingsOf([[[wing, 255]], [[flutter, 255]]], () => 2) }]
    const [part] = buildLexicon(leaves, 8)
    const known = lexicalQuery(queryTerms('wing flutter', config), config, [part])
    expect([...known.counts.keys()].sort()).toEqual([wing, flutter].sort())
    expect(known.scale).toBeCloseTo(1 / (2 * 2 * (config.k1 + 1)), 6)
    // Without flutter's idf (its part skipped), flutter neither scores nor counts in the normalizer.
    const onlyWing: LexiconPart = { ...part, terms: Uint32Array.of(wing), idf: Float32Array.of(2), postingStart: Uint32Array.of(0, 0), leaves: new Uint32Array(0), rows: new Uint32Array(0), weights: new Uint8Array(0) }
    const partial = lexicalQuery(queryTerms('wing flutter', config), config, [onlyWing])
    expect([...partial.counts.keys()]).toEqual([wing])
    expect(partial.scale).toBeCloseTo(1 / (2 * (config.k1 + 1)), 6)
    const scores = new Float32Array(2)
    addLexicalScores(partial.counts, leaves[0].postings, partial.scale, config, scores)
    expect(Math.max(...scores)).toBeLessThanOrEqual(1)
    expect(scores[1]).toBe(0)
  })
})

/**
 * LeafDocuments.leafScores as it was written in JavaScript before the merge moved to
 * WebAssembly (session 18): the kernel must give these bits, corrupt postings included.
 */
function referenceLeafScores(docs: Uint32Array, query: ReadonlyMap<number, number>, parts: LexiconPart[], scale: number, config: LexicalConfig): LexicalLeaves {
  const NO_LEAF = 0x3fffffff
  const weightOf = Float64Array.from({ length: 256 }, (_, q) => (q / 255) * (config.k1 + 1))
  const sums = new Float64Array(Math.max(0, ...docs))
  const lists: { leaves: Uint32Array; rows: Uint32Array; weights: Uint8Array; at: number; end: number; factor: number; next: number }[] = []
  for (const [term, count] of query) {
    for (const part of parts) {
      const i = part.terms.indexOf(term)
      if (i < 0) continue
      const factor = scale * count * part.idf[i]
      const [at, end] = [part.postingStart[i], part.postingStart[i + 1]]
      if (factor > 0 && at < end) lists.push({ leaves: part.leaves, rows: part.rows, weights: part.weights, at, end, factor, next: Math.min(part.leaves[at], NO_LEAF) })
      break
    }
  }
  const advance = (list: (typeof lists)[number], p: number) => {
    list.at = p
    list.next = p < list.end ? Math.min(list.leaves[p], NO_LEAF) : NO_LEAF
  }
  const score = new Float64Array(docs.length)
  const reached: number[] = []
  for (;;) {
    const leaf = Math.min(NO_LEAF, ...lists.map((l) => l.next))
    if (leaf === NO_LEAF) return { nodes: Int32Array.from(reached), score }
    const holders = lists.filter((l) => l.next === leaf)
    const rowsOfLeaf = leaf < docs.length ? docs[leaf] : 0
    let best = 0
    const touched: number[] = []
    for (const list of holders) {
      let p = list.at
      for (; p < list.end && list.leaves[p] === leaf; p++) {
        const row = list.rows[p]
        if (row >= rowsOfLeaf) continue
        const x = list.factor * weightOf[list.weights[p]]
        if (holders.length === 1) best = Math.max(best, x)
        else {
          if (sums[row] === 0) touched.push(row)
          sums[row] += x
        }
      }
      advance(list, p)
    }
    for (const row of touched) {
      if (sums[row] > best) best = sums[row]
      sums[row] = 0
    }
    if (best > 0) {
      score[leaf] = best
      reached.push(leaf)
    }
  }
}

describe('lexical routing in WebAssembly', () => {
  // Postings of a few terms over a few leaves, in (leaf, row) order as the codec checks, some
  // naming rows or leaves the index does not have (a corrupt part), or leaves past NO_LEAF.
  const posting = fc.tuple(
    fc.oneof(fc.integer({ min: 1, max: 9 }), fc.constantFrom(12, 0x3fffffff, 0x40000005)),
    fc.oneof(fc.integer({ min: 0, max: 7 }), fc.constantFrom(0x7fffffff, 0x80000000, 0xffffffff)),
    fc.integer({ min: 0, max: 255 }),
  )
  const partArbitrary = fc.array(fc.array(posting, { maxLength: 25 }), { minLength: 1, maxLength: 6 }).map((terms): LexiconPart => {
    const lists = terms.map((list) => [...list].sort((a, b) => a[0] - b[0] || a[1] - b[1]))
    const flat = lists.flat()
    const postingStart = [0]
    for (const list of lists) postingStart.push(postingStart[postingStart.length - 1] + list.length)
    return {
      terms: Uint32Array.from(lists, (_, i) => 100 + i),
      idf: Float32Array.from(lists, (_, i) => 0.5 + i),
      postingStart: Uint32Array.from(postingStart),
      leaves: Uint32Array.from(flat, ([leaf]) => leaf),
      rows: Uint32Array.from(flat, ([, row]) => row),
      weights: Uint8Array.from(flat, ([, , weight]) => weight),
    }
  })
  const docsArbitrary = fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 10, maxLength: 10 }).map((d) => Uint32Array.from(d))

  it('gives the bits of the JavaScript merge it replaced, over any postings and calls in any order', () => {
    fc.assert(
      fc.property(docsArbitrary, fc.array(fc.tuple(fc.array(partArbitrary, { minLength: 1, maxLength: 2 }), fc.array(fc.tuple(fc.integer({ min: 98, max: 106 }), fc.integer({ min: 1, max: 3 })), { maxLength: 6 }), fc.double({ min: 0.01, max: 3, noNaN: true }), fc.constantFrom(0.9, 1.2)), { minLength: 1, maxLength: 4 }), (docs, calls) => {
        const leafDocuments = new LeafDocuments(Array.from(docs, (count, node) => ({ node, docs: count })), docs.length, nodeLexicalKernel())
        for (const [parts, pairs, scale, k1] of calls) {
          const query = new Map(pairs)
          const cfg = { ...config, k1 }
          const got = leafDocuments.leafScores(query, parts, scale, cfg)
          const want = referenceLeafScores(docs, query, parts, scale, cfg)
          expect(Array.from(got.nodes)).toEqual(Array.from(want.nodes))
          expect(Array.from(got.score)).toEqual(Array.from(want.score))
        }
      }),
      { numRuns: 300 },
    )
  })

  it('stays within its memory on postings the codec would refuse, and answers right after them', () => {
    const docs = Uint32Array.of(0, 1, 1)
    const part = (leaves: number[], rows: number[], weights: number[], terms = 1): LexiconPart => ({
      terms: Uint32Array.from({ length: terms }, (_, i) => 100 + i),
      idf: Float32Array.from({ length: terms }, () => 1),
      postingStart: Uint32Array.from({ length: terms + 1 }, (_, i) => (i === terms ? leaves.length : i === 0 ? 0 : leaves.length - (terms - i))),
      leaves: Uint32Array.from(leaves),
      rows: Uint32Array.from(rows),
      weights: Uint8Array.from(weights),
    })
    const leafDocuments = new LeafDocuments(Array.from(docs, (count, node) => ({ node, docs: count })), docs.length, nodeLexicalKernel())
    // Zero weights on one row, many times: its sum stays 0, and touched must not run past the leaf's rows into the scores.
    const zeros = part([1, ...Array(8).fill(2), 2], [0, ...Array(8).fill(0), 0], [255, ...Array(8).fill(0), 0], 2)
    const query = new Map([[100, 1], [101, 1]])
    expect(leafDocuments.leafScores(query, [zeros], 1, config)).toEqual(referenceLeafScores(docs, query, [zeros], 1, config))
    // Leaves out of order name leaf 1 and 2 again and again: at most `nodes` leaves come back.
    const unsorted = part(Array.from({ length: 20 }, (_, i) => 2 - (i % 2)), Array(20).fill(0), Array(20).fill(9))
    const got = leafDocuments.leafScores(new Map([[100, 1]]), [unsorted], 1, config)
    expect(got.nodes.length).toBeLessThanOrEqual(docs.length)
    const sorted = part([1, 2], [0, 0], [7, 9])
    expect(leafDocuments.leafScores(new Map([[100, 2]]), [sorted], 0.5, config)).toEqual(referenceLeafScores(docs, new Map([[100, 2]]), [sorted], 0.5, config))
  })

  it('gives back the memory a query of very many postings took, and answers the same after', () => {
    const docs = Uint32Array.of(0, 0, 700, 700)
    const postings = 600_000 // 5.4 MB of lists, past what the kernel keeps
    const big: LexiconPart = {
      terms: Uint32Array.of(7),
      idf: Float32Array.of(1.5),
      postingStart: Uint32Array.of(0, postings),
      leaves: Uint32Array.from({ length: postings }, (_, p) => 2 + Math.floor((2 * p) / postings)),
      rows: Uint32Array.from({ length: postings }, (_, p) => p % 700),
      weights: Uint8Array.from({ length: postings }, (_, p) => (p * 7) % 256),
    }
    const small: LexiconPart = { ...big, postingStart: Uint32Array.of(0, 1000) }
    const leafDocuments = new LeafDocuments(Array.from(docs, (count, node) => ({ node, docs: count })), docs.length, nodeLexicalKernel())
    const before = leafDocuments.kernelBytes()
    for (const part of [small, big, small]) {
      const got = leafDocuments.leafScores(new Map([[7, 2]]), [part], 0.3, config)
      expect(Array.from(got.score)).toEqual(Array.from(referenceLeafScores(docs, new Map([[7, 2]]), [part], 0.3, config).score))
      expect(leafDocuments.kernelBytes()).toBeLessThan(before + (1 << 20))
    }
  })
})
