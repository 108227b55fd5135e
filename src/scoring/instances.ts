import { createHash } from 'node:crypto';
import { compileModel, defaultProvideSeries, modelEntry, STATE_LAYOUT, type ModelConfig, type OutputVar } from '../config/models.js';
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
  /**
   * Fingerprint of the settings that shape this instance's model state (stateFingerprint()):
   * a snapshot's state is restored only into an instance with the same query and model
   * aliases and the same fingerprint; a changed model starts cold.
   */
  fingerprint: string;
  /**
   * Everything the instance's series and state depend on: the query's settings (its selector
   * included) and the model's, except the policy the Scorer applies after the model (POLICY_KEYS:
   * which queries it scores, what it writes, warm-up, margins, ranges). A reload keeps
   * the state of a pair whose settings are unchanged (carriedFrom()); a changed selector makes
   * the pair new, so every series is matched against it again.
   */
  settings: string;
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
      const scorer = compileModel(mc, q);
      spec.instances.push({
        queryAlias: alias,
        modelAlias,
        sharedQuery: mine.length > 1,
        scorer,
        transform: q.transform === 'rate' ? Transform.Rate : q.transform === 'increase' ? Transform.Increase : Transform.None,
        provide: defaultProvideSeries(mc, q.transform),
        fingerprint: stateFingerprint(mc, q, scorer.slots),
        settings: settingsOf(q, mc),
      });
    }
    spec.queries.push(query);
  }
  return spec;
}

/**
 * The query's settings and the model's that shape its state (all but POLICY_KEYS, as the snapshot
 * fingerprint) as one string (±Infinity kept apart, which JSON cannot do): a reload keeps a pair's
 * state exactly when a restart would restore it, plus an unchanged query.
 */
function settingsOf(q: QueryConfig, mc: ModelConfig): string {
  const model: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(mc)) if (!POLICY_KEYS.has(k)) model[k] = v;
  return JSON.stringify({ q, model }, (_k, v: unknown) => (v === Infinity ? 'inf' : v === -Infinity ? '-inf' : v));
}

/**
 * For each instance of `next`, the instance of `prev` whose model state it takes over at a
 * reload, or -1 (it starts empty): the same query alias and model alias, and the same
 * settings (the same selector, transform, per-query settings and model settings).
 */
export function carriedFrom(prev: ScoringSpec, next: ScoringSpec): Int32Array {
  const byKey = new Map(prev.instances.map((inst, i) => [`${inst.queryAlias}\0${inst.modelAlias}\0${inst.settings}`, i]));
  return Int32Array.from(next.instances, (inst) => byKey.get(`${inst.queryAlias}\0${inst.modelAlias}\0${inst.settings}`) ?? -1);
}

/**
 * Model settings that never change what a model's state holds: the Scorer applies them to the
 * prediction after the model (models/scorer.ts), or they only choose series and outputs.
 * Changing them keeps the state; changing any other setting (a half-life, a threshold, the
 * season, a setting a later version adds) starts the model cold.
 */
const POLICY_KEYS = new Set([
  'queries',
  'provide_series',
  'min_n_samples_seen',
  'detection_direction',
  'min_dev_from_expected',
  'min_rel_dev_from_expected',
  'data_range',
  'anomaly_score_outside_data_range',
  'clip_predictions',
  'scale',
]);

/**
 * The settings that shape an instance's model state, hashed: the model's class and every
 * setting but POLICY_KEYS (durations in ms, as compiled), the query's tz override (a seasonal
 * model's buckets) and transform (what the model sees), the state's slot count and the class'
 * layout version (STATE_LAYOUT, when above 1). SHA-256 of
 * their canonical JSON (keys sorted), first 16 hex digits.
 */
export function stateFingerprint(mc: ModelConfig, q: Pick<QueryConfig, 'transform' | 'tz'>, slots: number): string {
  const settings: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(mc)) if (!POLICY_KEYS.has(k) && v !== undefined) settings[k] = v;
  if (q.tz !== undefined && 'tz' in mc) settings.tz = q.tz;
  if (STATE_LAYOUT[mc.class] !== 1) settings.state_layout = STATE_LAYOUT[mc.class];
  const text = canonicalJson({ settings, transform: q.transform ?? 'none', slots });
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted at every level. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
