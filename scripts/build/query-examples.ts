// A build's pseudo-queries as training examples, featurized when a batch takes
// one (train.ts ExampleSet). 1M documents make 3.76 million pseudo-queries of
// ~70 features each (100K synthetic: 70.5): held as features, 2.1 GB of ids and
// values and two ArrayBuffers each, while training reads a sixth of them there.

import { featurize, tokenize } from '../../src/core/featurizer.ts'
import type { FeaturizerConfig } from '../../src/core/manifest.ts'
import type { PseudoQuery } from './pseudo-queries.ts'
import type { ExampleSet, TextExample } from './train.ts'

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
