// A build's pseudo-queries as training examples, featurized when a batch takes
// one (train.ts ExampleSet). Held as features, the 3.8 million pseudo-queries
// of 1M documents took 4.8 GB, and training reads a sixth of them there.

import { featurize, tokenize } from '../../src/core/featurizer.ts'
import type { FeaturizerConfig } from '../../src/core/manifest.ts'
import type { PseudoQuery } from './pseudo-queries.ts'
import type { ExampleSet, TrainingExample } from './train.ts'

/** A training example that keeps its text: the routing teacher's lexical scoring reads it. */
export type TextExample = TrainingExample & { text: string }

export class QueryExamples implements ExampleSet<TextExample> {
  private readonly queries: readonly PseudoQuery[]
  private readonly routes: (Map<number, number> | undefined)[] = []

  /** Queries with no tokens are left out: their features would be empty (featurize adds a word feature per token). */
  constructor(
    queries: readonly PseudoQuery[],
    private readonly config: FeaturizerConfig,
  ) {
    this.queries = queries.filter((q) => tokenize(q.text, config).length > 0)
  }

  get length(): number {
    return this.queries.length
  }

  /** Example `index`, featurized now (the same features every time: featurize is a pure function). */
  at(index: number): TextExample | undefined {
    const query = this.queries[index]
    if (!query) return undefined
    return { features: featurize(query.text, this.config), doc: query.doc, text: query.text, routeTo: this.routes[index] }
  }

  /** The routing teacher's targets (assignRoutes) for the first routes.length examples. */
  setRoutes(routes: readonly Map<number, number>[]): void {
    routes.forEach((route, i) => (this.routes[i] = route))
  }
}
