// The synthetic corpus of `gdr bench --synthetic`: determinism, shape, topic
// structure, and streaming to a .jsonl.gz the build reads back.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { corpusLine, pseudoWords, sampleCdf, SyntheticCorpus, writeSyntheticCorpus, zipfCdf } from '../../scripts/bench/synthetic.ts'
import { readCorpus } from '../../scripts/build/corpus.ts'
import { createRng } from '../../scripts/build/random.ts'

const dir = mkdtempSync(join(tmpdir(), 'gdr-synthetic-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('synthetic corpus', () => {
  const docs = (seed: number, n = 300) => [...new SyntheticCorpus({ docs: n, seed, topics: 12, vocabulary: 3000 })]

  it('is deterministic by seed', () => {
    expect(docs(7).map(corpusLine)).toEqual(docs(7).map(corpusLine))
    expect(docs(8).map(corpusLine)).not.toEqual(docs(7).map(corpusLine))
  })

  it('has the shape of the build\'s corpus lines: unique ids, 10–60 words, hyphenated titles, 1–3 topics', () => {
    const all = docs(1)
    expect(all).toHaveLength(300)
    expect(new Set(all.map((d) => d._id)).size).toBe(300)
    for (const d of all) {
      const words = d.text.split(/\s+/)
      expect(words.length).toBeGreaterThanOrEqual(10)
      expect(words.length).toBeLessThanOrEqual(60)
      expect(d.text).toMatch(/^[A-Z].*\.$/)
      expect(d.title).toMatch(/^[a-z]+(-[a-z]+){1,2}$/)
      expect(d.topics.length).toBeGreaterThanOrEqual(1)
      expect(d.topics.length).toBeLessThanOrEqual(3)
      expect(new Set(d.topics).size).toBe(d.topics.length)
      expect(Object.keys(JSON.parse(corpusLine(d)))).toEqual(['_id', 'title', 'text'])
    }
    const lengths = all.map((d) => d.text.split(/\s+/).length)
    expect(Math.min(...lengths)).toBeLessThan(15)
    expect(Math.max(...lengths)).toBeGreaterThan(40)
  })

  it('has cluster structure: documents of the same main topic share far more words', () => {
    const all = docs(3, 600)
    const bag = (text: string) => new Set(text.toLowerCase().replace(/\./g, '').split(/\s+/).filter((w) => w.length > 2))
    const bags = all.map((d) => bag(d.text))
    const jaccard = (a: Set<string>, b: Set<string>) => [...a].filter((w) => b.has(w)).length / new Set([...a, ...b]).size
    let same = 0, sameN = 0, other = 0, otherN = 0
    for (let i = 0; i < 200; i++) {
      for (let j = i + 1; j < 200; j++) {
        const s = jaccard(bags[i], bags[j])
        if (all[i].topics[0] === all[j].topics[0]) (same += s), sameN++
        else if (!all[i].topics.some((t) => all[j].topics.includes(t))) (other += s), otherN++
      }
    }
    expect(sameN).toBeGreaterThan(50)
    expect(same / sameN).toBeGreaterThan(3 * (other / otherN))
  })

  it('pseudo-words are distinct, shortest first; Zipf sampling stays in range and favours low ranks', () => {
    const words = pseudoWords(500, createRng(1))
    expect(new Set(words).size).toBe(500)
    for (let i = 1; i < words.length; i++) expect(words[i].length).toBeGreaterThanOrEqual(words[i - 1].length)
    const cdf = zipfCdf(100, 1)
    expect(cdf[99]).toBeCloseTo(1, 12)
    const rng = createRng(2)
    const counts = new Array(100).fill(0)
    for (let i = 0; i < 5000; i++) counts[sampleCdf(cdf, rng)]++
    expect(counts[0]).toBeGreaterThan(counts[9] * 5)
    expect(counts.reduce((a, b) => a + b, 0)).toBe(5000)
  })

  it('streams to .jsonl.gz that the build reads back, leaving no temporary file', async () => {
    const path = join(dir, 'syn.jsonl.gz')
    const ticks: number[] = []
    const summary = await writeSyntheticCorpus(path, { docs: 2500, seed: 5, topics: 8, vocabulary: 2000 }, (n) => ticks.push(n))
    expect(summary).toMatchObject({ docs: 2500, topics: 8 })
    expect(ticks).toEqual([1000, 2000])
    const { docs: read } = await readCorpus(path)
    const expected = [...new SyntheticCorpus({ docs: 2500, seed: 5, topics: 8, vocabulary: 2000 })]
    expect(read.map((d) => [d.id, d.title, d.text])).toEqual(expected.map((d) => [d._id, d.title, d.text]))
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([])
  })
})
