import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { DEFAULT_FEATURIZER, featurize, hashString, tokenize, type SparseFeatures } from '../../src/core/featurizer.ts'
import { FeaturizerConfigSchema, type FeaturizerConfig } from '../../src/core/manifest.ts'

const config = DEFAULT_FEATURIZER

/** featurize as first written: every key built as a string and hashed whole, summed in a Map. The fast path must give its bits. */
function referenceFeaturize(text: string, config: FeaturizerConfig): SparseFeatures {
  const counts = new Map<number, number>()
  const add = (key: string, weight: number) => {
    const bucket = hashString(key, config.seed) & (config.buckets - 1)
    counts.set(bucket, (counts.get(bucket) ?? 0) + weight)
  }
  const tokens = tokenize(text, config)
  const [minN, maxN] = config.charNgrams
  tokens.forEach((token, t) => {
    add('w\u0001' + token, config.weights.word)
    if (config.wordBigrams && t > 0) add('b\u0001' + tokens[t - 1] + ' ' + token, config.weights.bigram)
    const padded = '<' + token + '>'
    const grams: string[] = []
    for (let n = minN; n <= maxN && maxN > 0; n++) for (let i = 0; i + n <= padded.length; i++) grams.push(padded.slice(i, i + n))
    for (const gram of grams) add('c\u0001' + gram, config.weights.char / grams.length)
  })
  const ids = Int32Array.from(counts.keys()).sort()
  return { ids, values: Float32Array.from(ids, (id) => Math.log1p(counts.get(id)!)) }
}

describe('featurizer', () => {
  it('normalizes case and compatibility forms before hashing', () => {
    const a = featurize('Wind Tunnel', config)
    const b = featurize('ｗｉｎｄ tunnel', config) // full-width letters fold under NFKC
    expect(Array.from(b.ids)).toEqual(Array.from(a.ids))
    expect(Array.from(b.values)).toEqual(Array.from(a.values))
  })

  it('returns sorted unique buckets within the table, with positive weights', () => {
    const f = featurize('the boundary layer of the boundary layer', config)
    for (let i = 1; i < f.ids.length; i++) expect(f.ids[i]).toBeGreaterThan(f.ids[i - 1])
    for (const id of f.ids) expect(id >= 0 && id < config.buckets).toBe(true)
    for (const v of f.values) expect(v).toBeGreaterThan(0)
  })

  it('weights repeated words more (log-scaled)', () => {
    const once = featurize('flutter', config)
    const twice = featurize('flutter flutter', config)
    const word = once.ids[once.values.indexOf(Math.max(...once.values))]
    const i = twice.ids.indexOf(word)
    expect(twice.values[i]).toBeGreaterThan(once.values[once.ids.indexOf(word)])
  })

  it('has stable hashes (the Worker and the build must agree across engines)', () => {
    // Golden values: a change here changes every index; bump the format version if intended.
    expect([hashString('', 0), hashString('a', 0), hashString('wind', 7)]).toEqual([2872998923, 444641715, 4137360101])
  })

  it('tokenizes letters and digits of any script, dropping punctuation; a CJK run as its bigrams', () => {
    expect(tokenize('Mach-2.5 flow, Überschall 超音速!', config)).toEqual(['mach', '2', '5', 'flow', 'überschall', '超音', '音速'])
  })

  it('never throws and is deterministic on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        const a = featurize(text, config)
        const b = featurize(text, config)
        expect(Array.from(a.ids)).toEqual(Array.from(b.ids))
        expect(Array.from(a.values)).toEqual(Array.from(b.values))
      }),
    )
  })

  it('never throws on any UTF-16 (lone surrogates included) and stays within the table', () => {
    const anyUtf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)), maxLength: 200 })
    fc.assert(
      fc.property(fc.oneof(anyUtf16, fc.string({ unit: 'grapheme', maxLength: 50 })), (text) => {
        const a = featurize(text, config)
        const b = featurize(text, config)
        expect(Array.from(a.ids)).toEqual(Array.from(b.ids))
        expect(Array.from(a.values)).toEqual(Array.from(b.values))
        expect(a.ids.length).toBe(a.values.length)
        for (let i = 0; i < a.ids.length; i++) {
          expect(a.ids[i] >= 0 && a.ids[i] < config.buckets && (i === 0 || a.ids[i] > a.ids[i - 1])).toBe(true)
          expect(a.values[i] > 0 && Number.isFinite(a.values[i])).toBe(true)
        }
      }),
    )
  })

  it('gives the bits of the straightforward implementation, on any text and settings (long texts grow its table)', () => {
    const words = fc.array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('wind', 'tunnel', 'flow', '超音速', 'x')), { maxLength: 600 }).map((w) => w.join(' '))
    const settings = fc.record({
      buckets: fc.constantFrom(1 << 4, 1 << 10, 1 << 16, 1 << 20),
      seed: fc.integer({ min: 0, max: 0xffffffff }),
      wordBigrams: fc.boolean(),
      charNgrams: fc.constantFrom<[number, number]>([3, 5], [2, 4], [1, 1], [0, 0], [4, 3]),
    })
    // Thousands of features: the table grows several times within one call.
    const long = Array.from({ length: 3000 }, (_, i) => `w${(i * 7919) % 5003}x${i % 13}`).join(' ')
    for (const cfg of [config, { ...config, buckets: 1 << 20 }]) expect(featurize(long, cfg)).toEqual(referenceFeaturize(long, cfg))
    fc.assert(
      fc.property(fc.oneof(words, fc.string({ unit: 'binary', maxLength: 300 })), settings, (text, overrides) => {
        const cfg = { ...config, ...overrides }
        const fast = featurize(text, cfg)
        const reference = referenceFeaturize(text, cfg)
        expect(Array.from(fast.ids)).toEqual(Array.from(reference.ids))
        expect(Array.from(fast.values)).toEqual(Array.from(reference.values))
      }),
      { numRuns: 200 },
    )
  })

  it('a call that throws midway leaves nothing behind for the next', () => {
    const text = 'wind tunnel flow over a swept wing at supersonic speed'
    let reads = 0
    const failing = { ...config, weights: { word: 1, char: 0.5, get bigram(): number { if (++reads === 5) throw new Error('read failed'); return 0.5 } } }
    expect(() => featurize(text, failing)).toThrow('read failed')
    expect(featurize('boundary layer', config)).toEqual(referenceFeaturize('boundary layer', config))
  })

  it('n-gram lengths past any token cost nothing, and the schema refuses bucket counts its 32-bit check would pass', () => {
    expect(featurize('wind tunnel', { ...config, charNgrams: [3, 1e9] })).toEqual(referenceFeaturize('wind tunnel', { ...config, charNgrams: [3, 12] }))
    for (const buckets of [1, 16, 2 ** 30]) expect(FeaturizerConfigSchema.safeParse({ ...config, buckets }).success).toBe(true)
    for (const buckets of [2 ** 31, 2 ** 32, 3 * 2 ** 32, 12]) expect(FeaturizerConfigSchema.safeParse({ ...config, buckets }).success).toBe(false)
  })

  it('handles lone surrogates, NUL, RTL and combining marks', () => {
    for (const text of ['\uD800', 'a\u0000b', 'שלום עולם', 'e\u0301te\u0301', '🙂🙂']) {
      expect(() => featurize(text, config)).not.toThrow()
    }
  })
})
