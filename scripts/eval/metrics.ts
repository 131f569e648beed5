// Ranking metrics with graded judgments: log2 discount, ideal DCG over all judged
// documents, a grade ≤ 0 is not relevant. nDCG's gain is 2^grade − 1 by default
// (Burges et al.; it reproduces the project's reference BM25 numbers), or the
// grade itself ('linear', as trec_eval / pytrec_eval and so BEIR compute it).

/** Judgments of one query: document id → grade (higher is more relevant). */
export type Judgments = ReadonlyMap<string, number>

export type Gain = 'exponential' | 'linear'

export function gainOf(grade: number, gain: Gain): number {
  if (!(grade > 0)) return 0
  return gain === 'linear' ? grade : 2 ** grade - 1
}

/** nDCG@k: Σ gain(grade at rank i) / log2(i + 1) over the top k, divided by the same for the ideal ranking. */
export function ndcgAt(ranked: readonly string[], judged: Judgments, k = 10, gain: Gain = 'exponential'): number {
  let dcg = 0
  const top = Math.min(k, ranked.length)
  for (let i = 0; i < top; i++) dcg += gainOf(judged.get(ranked[i]) ?? 0, gain) / Math.log2(i + 2)
  const ideal = [...judged.values()].map((g) => gainOf(g, gain)).filter((g) => g > 0).sort((a, b) => b - a)
  let idcg = 0
  for (let i = 0; i < Math.min(k, ideal.length); i++) idcg += ideal[i] / Math.log2(i + 2)
  return idcg > 0 ? dcg / idcg : 0
}

/** MRR@k: 1 / rank of the first relevant document within the top k, else 0. */
export function mrrAt(ranked: readonly string[], judged: Judgments, k = 10): number {
  const top = Math.min(k, ranked.length)
  for (let i = 0; i < top; i++) if ((judged.get(ranked[i]) ?? 0) > 0) return 1 / (i + 1)
  return 0
}

/** Recall@k: relevant documents in the top k over all relevant documents (0 when none is judged relevant). */
export function recallAt(ranked: readonly string[], judged: Judgments, k = 100): number {
  let relevant = 0
  for (const grade of judged.values()) if (grade > 0) relevant++
  if (relevant === 0) return 0
  let found = 0
  for (const id of ranked.slice(0, k)) if ((judged.get(id) ?? 0) > 0) found++
  return found / relevant
}

/** Overlap of two top-k lists: |top k ∩ reference's top k| / |reference's top k| (1 when the reference is empty). */
export function overlapAt(ranked: readonly string[], reference: readonly string[], k = 10): number {
  const ref = new Set(reference.slice(0, k))
  if (ref.size === 0) return 1
  let hits = 0
  for (const id of ranked.slice(0, k)) if (ref.has(id)) hits++
  return hits / ref.size
}

export interface RankingMetrics {
  ndcg10: number
  mrr10: number
  r100: number
}

export function rankingMetrics(ranked: readonly string[], judged: Judgments, gain: Gain = 'exponential'): RankingMetrics {
  return { ndcg10: ndcgAt(ranked, judged, 10, gain), mrr10: mrrAt(ranked, judged, 10), r100: recallAt(ranked, judged, 100) }
}

/** Mean of each numeric field over a list of per-query records (0 for an empty list). */
export function meanOf<T extends Record<string, number>>(rows: readonly T[]): T {
  const out: Record<string, number> = {}
  if (rows.length === 0) return out as T
  for (const key of Object.keys(rows[0])) out[key] = rows.reduce((s, r) => s + r[key], 0) / rows.length
  return out as T
}
