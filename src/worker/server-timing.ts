// Where a search's time went, as a standard Server-Timing response header
// (https://www.w3.org/TR/server-timing/), e.g. `index;dur=0, model;dur=1, route;dur=1, r2;dur=0, score;dur=1, total;dur=3`.
// The JSON body stays as it is; benchmarks (gdr bench) and browser devtools read the header.
// Milliseconds from Date.now(): real time in local workerd (wrangler dev); in deployed
// Workers the clock only advances across I/O, so CPU-only stages (model, score, and route
// unless it waits for lexicon parts from R2) read 0 there.

/**
 * Filled by search(): model = the query's analysis (its BM25 terms, the model's
 * features) + the model run; route = waiting for the lexicon parts + lexical routing +
 * centroid similarities + cluster-ID decoding + the probe plan; r2 = shard and display
 * reads (R2 or the isolate's cache, verify, decode); score = BM25 + dot products + top k.
 * The query vector's normalization counts under route.
 */
export interface SearchTimings {
  modelMs: number
  routeMs: number
  r2Ms: number
  scoreMs: number
}

/**
 * Steps of loading an index version (index-store.ts), in milliseconds, each
 * from its own start to its own end: steps that overlap in time each count
 * whole, so they need not add up to `index`.
 */
export interface LoadTimings {
  /** GET the pointer and parse it. */
  pointer?: number
  /** GET the manifest and read its body. */
  manifest?: number
  /** JSON.parse + schema validation + tree checks of the manifest. */
  parse?: number
  /** GET the model and read its bytes. */
  model?: number
  /** sha256 of the model bytes. */
  verify?: number
  /** The leaf centroids: GET (started with `manifest`, like the model's), sha256 and decode, while the model is verified and made ready. */
  centroids?: number
  /** Making the model ready to run (QueryModelRuntime): reading the ONNX file's graph and weights. */
  runtime?: number
}

export const LOAD_STEPS = ['pointer', 'manifest', 'parse', 'model', 'verify', 'centroids', 'runtime'] as const satisfies readonly (keyof LoadTimings)[]

/**
 * `index`: getting the loaded index (pointer, manifest, model from R2 on an isolate's first request; ≈ 0 after).
 * `load`: given only to the requests that waited for a load, which then also get one `load-<step>` entry per step.
 */
export function serverTimingHeader(indexMs: number, search: SearchTimings, load?: LoadTimings): string {
  const total = indexMs + search.modelMs + search.routeMs + search.r2Ms + search.scoreMs
  const steps = load ? LOAD_STEPS.filter((step) => load[step] !== undefined).map((step) => `, load-${step};dur=${load[step]}`) : []
  return `index;dur=${indexMs}, model;dur=${search.modelMs}, route;dur=${search.routeMs}, r2;dur=${search.r2Ms}, score;dur=${search.scoreMs}, total;dur=${total}${steps.join('')}`
}
