// Seeded randomness, so a build of the same corpus with the same options is reproducible.

export type Rng = () => number

/** The largest seed: the generator keeps 32 bits of it, so larger seeds would repeat smaller ones. */
export const MAX_SEED = 2 ** 32 - 1

/** mulberry32: uniform in [0, 1). */
export function createRng(seed: number): Rng {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Standard normal (Box–Muller). */
export function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng())
}

export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n)
}

export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(rng, i + 1)
    ;[items[i], items[j]] = [items[j], items[i]]
  }
  return items
}
