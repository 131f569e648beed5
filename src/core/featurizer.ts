// Text → sparse hashed features. The build and the Worker both call this, so a
// query is featurized exactly like the documents and pseudo-queries the model saw.

import type { FeaturizerConfig } from './manifest.ts'
import { forEachWord, normalizeText } from './words.ts'

/** Sorted, de-duplicated feature buckets with their weights (log-scaled counts). */
export interface SparseFeatures {
  ids: Int32Array
  values: Float32Array
}

export const DEFAULT_FEATURIZER: FeaturizerConfig = {
  kind: 'hashed-ngrams',
  buckets: 1 << 16,
  seed: 0x9e3779b1,
  wordBigrams: true,
  charNgrams: [3, 5],
  weights: { word: 1, bigram: 0.5, char: 0.5 },
  maxTokens: 512,
  maxTokenLength: 32,
}

/** The text's words (words.ts), each cut to maxTokenLength, at most maxTokens of them. Never throws, whatever the input (lone surrogates included). */
export function tokenize(text: string, config: FeaturizerConfig): string[] {
  const tokens: string[] = []
  forEachWord(normalizeText(text), (word) => {
    tokens.push(word.slice(0, config.maxTokenLength))
    return tokens.length < config.maxTokens
  })
  return tokens
}

/** FNV-1a over UTF-16 code units, seeded: deterministic in every JS engine. */
export function hashString(text: string, seed: number): number {
  return fnvFinish(fnvFold(fnvStart(seed), text))
}

// hashString in steps, so a key made of parts ("c\u0001" + an n-gram of "<token>") is
// hashed without building it: folding the parts in order gives the same bits.
const fnvStart = (seed: number) => (0x811c9dc5 ^ seed) >>> 0
const fnvStep = (hash: number, unit: number) => Math.imul(hash ^ unit, 0x01000193)

function fnvFold(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) hash = fnvStep(hash, text.charCodeAt(i))
  return hash
}

function fnvFinish(hash: number): number {
  // Final avalanche (murmur3 fmix) so nearby strings spread over the low bits we mask.
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}

export function featurize(text: string, config: FeaturizerConfig): SparseFeatures {
  const counts = bucketSums.emptied()
  const mask = config.buckets - 1
  // `hash`: FNV state after the whole key, e.g. "w\u0001" + token.
  const add = (hash: number, weight: number) => counts.add(fnvFinish(hash) & mask, weight)
  const seed = fnvStart(config.seed)
  const [wordKey, bigramKey, charKey] = [fnvFold(seed, 'w\u0001'), fnvFold(seed, 'b\u0001'), fnvFold(seed, 'c\u0001')]
  const tokens = tokenize(text, config)
  const [minN, maxN] = config.charNgrams
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]
    add(fnvFold(wordKey, token), config.weights.word)
    // "b\u0001" + previous + " " + token
    if (config.wordBigrams && t > 0) add(fnvFold(fnvStep(fnvFold(bigramKey, tokens[t - 1]), 0x20), token), config.weights.bigram)
    if (maxN > 0) addCharNgrams(token, minN, maxN, config.weights.char, charKey, add)
  }
  return counts.drain()
}

// fastText-style: n-grams of "<token>", weighted so each token's n-grams sum to `weight`;
// `key`: FNV state after the n-grams' key prefix.
function addCharNgrams(token: string, minN: number, maxN: number, weight: number, key: number, add: (hash: number, weight: number) => void) {
  const padded = '<' + token + '>'
  // n-grams longer than "<token>" there are none of.
  const longest = Math.min(maxN, padded.length)
  let grams = 0
  for (let n = minN; n <= longest; n++) grams += padded.length - n + 1
  if (grams === 0) return
  const each = weight / grams
  for (let n = minN; n <= longest; n++) {
    for (let i = 0; i + n <= padded.length; i++) {
      let hash = key
      for (let j = i; j < i + n; j++) hash = fnvStep(hash, padded.charCodeAt(j))
      add(hash, each)
    }
  }
}

/**
 * The weights of one featurize call by bucket, summed in the order they come, as
 * open addressing over typed arrays (buckets are hashes: their low bits are the
 * slot). With the keys hashed in parts instead of built as strings, and a Map
 * before it: npm 186K, Node, 16.1 → 7.0 µs a bench query, 27–28 → 11–12 µs a
 * document, the same bits (.tmp/featab.mts, .tmp/featdocs.mts; a test holds it to
 * the straightforward version). One table serves every call: featurize is
 * synchronous and drains it before returning. It never shrinks, but a call reads
 * only the slots it used, so one long text does not slow the calls after it.
 */
class BucketSums {
  private keys = new Int32Array(256).fill(-1)
  private sums = new Float64Array(256)
  /** The slots in use, in the order their buckets came: a call reads and empties only these, however large the table grew. */
  private used = new Int32Array(128)
  private size = 0

  /** The table, emptied first if a call that threw midway left entries in it. */
  emptied(): this {
    if (this.size > 0) {
      for (let i = 0; i < this.size; i++) this.keys[this.used[i]] = -1
      this.size = 0
    }
    return this
  }

  add(bucket: number, weight: number): void {
    let slot = this.slotOf(bucket)
    if (this.keys[slot] !== bucket) {
      if (2 * (this.size + 1) > this.keys.length) {
        this.grow()
        slot = this.slotOf(bucket)
      }
      this.keys[slot] = bucket
      this.sums[slot] = 0
      this.used[this.size++] = slot
    }
    this.sums[slot] += weight
  }

  /** Sorted buckets with log-scaled sums; the table is left empty. */
  drain(): SparseFeatures {
    const { keys, sums, used, size } = this
    const ids = new Int32Array(size)
    for (let i = 0; i < size; i++) ids[i] = keys[used[i]]
    ids.sort()
    const values = new Float32Array(size)
    for (let i = 0; i < size; i++) values[i] = Math.log1p(sums[this.slotOf(ids[i])])
    for (let i = 0; i < size; i++) keys[used[i]] = -1
    this.size = 0
    return { ids, values }
  }

  /** The bucket's slot, or the empty slot where it would go. */
  private slotOf(bucket: number): number {
    const mask = this.keys.length - 1
    let slot = bucket & mask
    while (this.keys[slot] >= 0 && this.keys[slot] !== bucket) slot = (slot + 1) & mask
    return slot
  }

  private grow(): void {
    const { keys, sums, used, size } = this
    // All three made before any is replaced: a failed allocation leaves the table as it was.
    const grownKeys = new Int32Array(keys.length * 2).fill(-1)
    const grownSums = new Float64Array(keys.length * 2)
    const grownUsed = new Int32Array(keys.length)
    this.keys = grownKeys
    this.sums = grownSums
    this.used = grownUsed
    for (let i = 0; i < size; i++) {
      const to = this.slotOf(keys[used[i]])
      this.keys[to] = keys[used[i]]
      this.sums[to] = sums[used[i]]
      this.used[i] = to
    }
  }
}

const bucketSums = new BucketSums()
