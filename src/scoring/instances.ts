import { compileModel, defaultProvideSeries, modelEntry, type ModelConfig, type OutputVar } from '../config/models.js';
import type { Config } from '../config/schema.js';
import type { Scorer } from '../models/scorer.js';
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
  /**
   * Everything the model state depends on: the query's settings and the model's, except which
   * queries it scores and what it writes. A reload keeps the state of a pair whose fingerprint
   * is unchanged (carriedFrom()).
   */
  fingerprint: string;
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
}

export type QueryConfig = Config['reader']['queries'][string];

/** Every query paired with the models that score it (without `models`, one `auto` model scores every query). */
export function compileScoring(queries: Record<string, QueryConfig>, models: Record<string, ModelConfig> | undefined): ScoringSpec {
  const all: [string, ModelConfig][] = models ? Object.entries(models) : [['default', modelEntry.parse({}) as ModelConfig]];
  const spec: ScoringSpec = { queries: [], instances: [] };
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
        fingerprint: fingerprint(q, mc),
      });
    }
    spec.queries.push(query);
  }
  return spec;
}

/** The query's and the model's settings as one string (±Infinity kept apart, which JSON cannot do). */
function fingerprint(q: QueryConfig, mc: ModelConfig): string {
  const { queries: _queries, provide_series: _provide, ...model } = mc;
  return JSON.stringify({ q, model }, (_k, v: unknown) => (v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v));
}

/**
 * For each instance of `next`, the instance of `prev` whose model state it takes over at a
 * reload, or -1 (it starts empty): the same query alias and model alias, and the same
 * fingerprint (the same selector, transform, per-query settings and model settings).
 */
export function carriedFrom(prev: ScoringSpec, next: ScoringSpec): Int32Array {
  const byKey = new Map(prev.instances.map((inst, i) => [`${inst.queryAlias}\0${inst.modelAlias}\0${inst.fingerprint}`, i]));
  return Int32Array.from(next.instances, (inst) => byKey.get(`${inst.queryAlias}\0${inst.modelAlias}\0${inst.fingerprint}`) ?? -1);
}
