// Where a search's time went, as a standard Server-Timing response header
// (https://www.w3.org/TR/server-timing/), e.g. `index;dur=0, model;dur=3, r2;dur=1, score;dur=2`.
// The JSON body stays as it is; benchmarks (gdr bench) and browser devtools read the header.
// Milliseconds from Date.now(): real time in local workerd (wrangler dev); in deployed
// Workers the clock only advances across I/O, so CPU-only stages (model, score) read 0 there.

/** Filled by search(): model = featurize + ONNX + cluster-ID decoding; r2 = shard reads (R2 or the isolate's cache, verify, decode); score = BM25 + dot products + top k. */
export interface SearchTimings {
  modelMs: number
  r2Ms: number
  scoreMs: number
}

/** `index`: getting the loaded index (pointer, manifest, model from R2 on an isolate's first request; ≈ 0 after). */
export function serverTimingHeader(indexMs: number, search: SearchTimings): string {
  const total = indexMs + search.modelMs + search.r2Ms + search.scoreMs
  return `index;dur=${indexMs}, model;dur=${search.modelMs}, r2;dur=${search.r2Ms}, score;dur=${search.scoreMs}, total;dur=${total}`
}
