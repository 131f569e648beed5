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
  let hash = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  // Final avalanche (murmur3 fmix) so nearby strings spread over the low bits we mask.
  hash ^= hash >>> 16
  hash = Math.imul(hash, 0x85ebca6b)
  hash ^= hash >>> 13
  hash = Math.imul(hash, 0xc2b2ae35)
  hash ^= hash >>> 16
  return hash >>> 0
}

export function featurize(text: string, config: FeaturizerConfig): SparseFeatures {
  const counts = new Map<number, number>()
  const mask = config.buckets - 1
  const add = (key: string, weight: number) => {
    const bucket = hashString(key, config.seed) & mask
    counts.set(bucket, (counts.get(bucket) ?? 0) + weight)
  }
  const tokens = tokenize(text, config)
  const [minN, maxN] = config.charNgrams
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]
    add('w\u0001' + token, config.weights.word)
    if (config.wordBigrams && t > 0) add('b\u0001' + tokens[t - 1] + ' ' + token, config.weights.bigram)
    if (maxN > 0) addCharNgrams(token, minN, maxN, config.weights.char, add)
  }
  return toSparse(counts)
}

// fastText-style: n-grams of "<token>", weighted so each token's n-grams sum to `weight`.
function addCharNgrams(token: string, minN: number, maxN: number, weight: number, add: (key: string, weight: number) => void) {
  const padded = '<' + token + '>'
  const grams: string[] = []
  for (let n = minN; n <= maxN; n++) {
    for (let i = 0; i + n <= padded.length; i++) grams.push(padded.slice(i, i + n))
  }
  if (grams.length === 0) return
  const each = weight / grams.length
  for (const gram of grams) add('c\u0001' + gram, each)
}

function toSparse(counts: Map<number, number>): SparseFeatures {
  const ids = Int32Array.from(counts.keys()).sort()
  const values = new Float32Array(ids.length)
  for (let i = 0; i < ids.length; i++) values[i] = Math.log1p(counts.get(ids[i])!)
  return { ids, values }
}
