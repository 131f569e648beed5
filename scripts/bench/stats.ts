// Summaries of measured samples.

/** The p-quantile (0..1) by the nearest-rank method: always a measured value, never an interpolation. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN
  if (!(p >= 0 && p <= 1)) throw new Error(`percentile: p must be in [0, 1], not ${p}`)
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]
}

export const median = (samples: readonly number[]) => percentile(samples, 0.5)

export const mean = (samples: readonly number[]) => (samples.length === 0 ? NaN : samples.reduce((a, b) => a + b, 0) / samples.length)

/**
 * The standard error of the samples' mean, √(s² / n) with the sample variance s²
 * (n − 1): how far the mean of another draw of as many queries would typically
 * land. NaN for fewer than two samples.
 */
export function standardError(samples: readonly number[]): number {
  if (samples.length < 2) return NaN
  const m = mean(samples)
  const variance = samples.reduce((sum, x) => sum + (x - m) ** 2, 0) / (samples.length - 1)
  return Math.sqrt(variance / samples.length)
}

export interface LatencySummary {
  p50_ms: number
  p95_ms: number
  p99_ms: number
  mean_ms: number
  max_ms: number
}

export function latencySummary(ms: readonly number[]): LatencySummary {
  return { p50_ms: percentile(ms, 0.5), p95_ms: percentile(ms, 0.95), p99_ms: percentile(ms, 0.99), mean_ms: mean(ms), max_ms: percentile(ms, 1) }
}
