import { compileModel, defaultProvideSeries, modelEntry, type ModelConfig, type OutputVar } from '../config/models.js';
import type { Config } from '../config/schema.js';
import type { Scorer } from '../models/scorer.js';
import { compileShard, type Ownership } from './hashmod.js';
import { parseSelector, type Selector } from './selector.js';

// The reader and models sections compiled once into what the hot path reads: per query its
// selector and the instances scoring it; per instance (one query x one model) its Scorer, its
// counter transform and the variables it writes. A new model class is a file in models/ and a
// case in config/models.ts compileModel(); nothing here changes.

/** Counter transform of a query (`transform:`), applied before the model sees a point. */
export const enum Transform {
  None = 0,
  /** Per-second increase between consecutive samples (a drop is a counter reset from 0). */
  Rate = 1,
  /** Increase between consecutive samples. */
  Increase = 2,
}

/** One (query, model) pair. */
export interface InstanceSpec {
  queryAlias: string;
  modelAlias: string;
  /** More than one model scores this query (generated series then carry model_alias). */
  sharedQuery: boolean;
  scorer: Scorer;
  transform: Transform;
  /** Output variables written per point (provide_series). */
  provide: OutputVar[];
}

export interface QuerySpec {
  alias: string;
  selector: Selector;
  /** Indices into ScoringSpec.instances. */
  instances: number[];
}

export interface ScoringSpec {
  queries: QuerySpec[];
  instances: InstanceSpec[];
  /** reader.ignore_labels: left out of a series' identity in the index (emit leaves them out of generated series). */
  ignoreLabels: readonly string[];
  /** shard: the series this instance owns (the others are not scored); null: every series. */
  ownership: Ownership | null;
}

/** Which series an instance scores under which identity: reader.ignore_labels and shard. */
export interface Routing {
  ignoreLabels?: readonly string[];
  shard?: Config['shard'];
}

export type QueryConfig = Config['reader']['queries'][string];

/** Every query paired with the models that score it (without `models`, one `auto` model scores every query). */
export function compileScoring(queries: Record<string, QueryConfig>, models: Record<string, ModelConfig> | undefined, routing: Routing = {}): ScoringSpec {
  const all: [string, ModelConfig][] = models ? Object.entries(models) : [['default', modelEntry.parse({}) as ModelConfig]];
  const spec: ScoringSpec = { queries: [], instances: [], ignoreLabels: routing.ignoreLabels ?? [], ownership: compileShard(routing.shard) };
  for (const [alias, q] of Object.entries(queries)) {
    const mine = all.filter(([, m]) => !m.queries || m.queries.includes(alias));
    const query: QuerySpec = { alias, selector: parseSelector(q.expr), instances: [] };
    for (const [modelAlias, mc] of mine) {
      query.instances.push(spec.instances.length);
      spec.instances.push({
        queryAlias: alias,
        modelAlias,
        sharedQuery: mine.length > 1,
        scorer: compileModel(mc, q),
        transform: q.transform === 'rate' ? Transform.Rate : q.transform === 'increase' ? Transform.Increase : Transform.None,
        provide: defaultProvideSeries(mc, q.transform),
      });
    }
    spec.queries.push(query);
  }
  return spec;
}
