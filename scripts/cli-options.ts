// Option parsers and option groups shared by the `gdr` commands.

import { InvalidArgumentError, type Command } from 'commander'
import type { BuildOptions, EncoderMode } from './build/build-index.ts'

export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`)
    return n
  }
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
    .option('--seed <n>', 'random seed of the build (bench: also of its synthetic corpus and pseudo-queries)', integer(0))
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
