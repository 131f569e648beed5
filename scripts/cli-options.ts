// Option parsers and option groups shared by the `gdr` commands.

import { InvalidArgumentError, type Command } from 'commander'
import type { BuildOptions, EncoderMode } from './build/build-index.ts'
import { INDEX_NAME_RULE, isIndexName } from '../src/core/manifest.ts'
import { MAX_SEED } from './build/random.ts'

/** Plain decimal digits only: Number() alone would take '' as 0, '0x10' as 16 and '1e3' as 1000. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  const digits = min < 0 ? /^-?\d+$/ : /^\d+$/
  return (value: string) => {
    const n = Number(value)
    if (!digits.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`)
    return n
  }
}

/** A non-negative number in plain decimal notation (`0.5`, `2`), checked by `accept` (say what it accepts in `expected`). */
export function decimal(expected: string, accept: (x: number) => boolean) {
  return (value: string) => {
    const x = Number(value)
    if (!/^\d+(\.\d+)?$/.test(value) || !accept(x)) throw new InvalidArgumentError(`expected ${expected}`)
    return x
  }
}

/** `--seed`, of `gdr build` and of the builds of `gdr eval` and `gdr bench`. */
export const randomSeed = integer(0, MAX_SEED)

/** An index name (`--name`, `--index-name`), by the rule publish applies, so a bad one fails before any work. */
export function indexName(value: string): string {
  if (!isIndexName(value)) throw new InvalidArgumentError(`expected an index name: ${INDEX_NAME_RULE}`)
  return value
}

/** Which document vectors a build keeps (`gdr build`, and the builds of `gdr eval` and `gdr bench`). */
export function encoderMode(value: string): EncoderMode {
  if (value !== 'auto' && value !== 'lsa' && value !== 'trained') throw new InvalidArgumentError('expected auto, lsa or trained')
  return value
}

/** Dual-encoder epochs: at least one (the LSA vectors as they are is `--encoder lsa`). */
export function encoderEpochs(value: string): number {
  if (value.trim() === '0') throw new InvalidArgumentError('expected at least 1; for the LSA vectors as they are, use --encoder lsa')
  return integer(1, 100)(value)
}

const BUILD_OVERRIDES = ['seed', 'probeDocs', 'leafSize', 'maxLeaves', 'epochs', 'encoder'] as const

/** The build settings that `gdr eval` and `gdr bench` pass through when they build an index. */
export function withBuildOverrides(command: Command): Command {
  return command
    .option('--seed <n>', 'random seed of the build, 0 to 2^32 − 1 (bench: also of its synthetic corpus and pseudo-queries)', randomSeed)
    .option('--probe-docs <n>', 'build: default probe budget in documents', integer(1))
    .option('--leaf-size <n>', 'build: documents per leaf', integer(1))
    .option('--max-leaves <n>', 'build: most leaf shards', integer(1, 1 << 16))
    .option('--epochs <n>', 'build: training epochs', integer(0, 1000))
    .option('--encoder <mode>', 'build: document vectors, lsa, trained or auto (the better on held-out pseudo-queries)', encoderMode)
}

/** The overrides given on the command line, to merge over the build defaults. */
export function buildOverrides(opts: Record<string, unknown>): Partial<BuildOptions> {
  return Object.fromEntries(BUILD_OVERRIDES.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]])) as Partial<BuildOptions>
}
