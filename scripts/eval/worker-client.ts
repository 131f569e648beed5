// Sends queries to a running Worker's `GET /search` with a few requests in
// flight, and keeps what the evaluation needs from each answer.

export interface WorkerAnswer {
  ids: string[]
  scores: number[]
  /** `clusters[].cid` of the answer: the leaves the Worker read. */
  clusters: number[][]
  index: string
  tookMs: number
}

export interface WorkerQueryOptions {
  k: number
  concurrency: number
  onProgress?: (done: number) => void
}

interface SearchBody {
  results: { id: string; score: number }[]
  clusters: { cid: number[] }[]
  index: string
  took_ms: number
  /** Some clusters, display objects or lexicon parts could not be read (listed in `skipped`). */
  degraded: boolean
  skipped?: unknown[]
}

export async function queryWorker(baseUrl: string, queries: readonly string[], options: WorkerQueryOptions): Promise<WorkerAnswer[]> {
  const answers: WorkerAnswer[] = new Array(queries.length)
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < queries.length) {
      const i = next++
      answers[i] = await ask(baseUrl, queries[i], options.k)
      options.onProgress?.(++done)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, queries.length)) }, worker))
  return answers
}

async function ask(baseUrl: string, q: string, k: number, attempts = 3): Promise<WorkerAnswer> {
  const url = `${baseUrl}/search?q=${encodeURIComponent(q)}&k=${k}`
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url)
      const text = await response.text()
      if (!response.ok) {
        // 503 while the index loads is worth a retry; a 400 is not.
        if (response.status >= 500 && attempt < attempts) throw new RetryableError(`HTTP ${response.status}: ${text.slice(0, 200)}`)
        throw new Error(`GET /search?q=${JSON.stringify(q.slice(0, 60))} answered HTTP ${response.status}: ${text.slice(0, 300)}`)
      }
      const body = JSON.parse(text) as SearchBody
      // A skipped shard would silently lower gdr's scores: the eval needs every one, as the benchmark does.
      // A skip is often a read that ran out of time on a busy machine: asked again, it is usually whole.
      if (body.degraded) {
        const message = `a degraded answer for ${JSON.stringify(q.slice(0, 60))} (skipped ${JSON.stringify(body.skipped ?? []).slice(0, 300)}): the evaluation needs every shard, display object and lexicon part`
        throw attempt < attempts ? new RetryableError(message) : new Error(`${message}; ${attempts} tries`)
      }
      return {
        ids: body.results.map((r) => r.id),
        scores: body.results.map((r) => r.score),
        clusters: body.clusters.map((c) => c.cid),
        index: body.index,
        tookMs: body.took_ms,
      }
    } catch (error) {
      const retryable = error instanceof RetryableError || (error instanceof TypeError && /fetch failed/.test(error.message))
      if (!retryable || attempt >= attempts) throw error
      await new Promise((r) => setTimeout(r, 500 * attempt))
    }
  }
}

class RetryableError extends Error {}
