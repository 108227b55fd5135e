import { z } from 'zod';
import { duration } from './duration.js';

/**
 * The `models:` section: one entry per model alias. Keys shared by every class follow
 * vmanomaly's names; each class adds its own. This file is the documentation of defaults.
 */
export const OUTPUT_VARS = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper', 'y'] as const;
export type OutputVar = (typeof OUTPUT_VARS)[number];

export const DIRECTIONS = ['both', 'above_expected', 'below_expected'] as const;

/** Finite bounds or .inf as YAML writes it; vmanomaly's data_range: [low, high]. */
const dataRange = z
  .tuple([z.number(), z.number()])
  .refine((r) => !(r[0] > r[1]), { message: 'expected [low, high] with low <= high' });

/** Settings vmanomaly lets a query override (v1.30.2): model value is the fallback. */
export const perQueryScoring = {
  /** Which side of yhat may score above 0. */
  detection_direction: z.enum(DIRECTIONS).optional(),
  /** Absolute |y - yhat| under which the score is forced to 0. */
  min_dev_from_expected: z.number().min(0).optional(),
  /** Values outside [low, high] score anomaly_score_outside_data_range. */
  data_range: dataRange.optional(),
};

const common = {
  /** Query aliases this model scores; default: every query. */
  queries: z.array(z.string()).optional(),
  /** Warm-up: no generated series are written before this many points of a series. */
  min_n_samples_seen: z.number().int().min(0).default(16),
  ...perQueryScoring,
  anomaly_score_outside_data_range: z.number().min(0).default(1.01),
  /** Series written per scored point. `y` only repeats the raw value unless a transform applies. */
  provide_series: z.array(z.enum(OUTPUT_VARS)).min(1).optional(),
  /** Clip yhat and its band to data_range. */
  clip_predictions: z.boolean().default(false),
  /** Band half-width multiplier. */
  scale: z.number().positive().default(1),
};

/** Half-life of the exponential smoothing; `decay` (vmanomaly's per-point factor) is not a duration and is not accepted here. */
const halfLife = duration.prefault('1h');

export const zscoreOnline = z
  .object({
    class: z.literal('zscore_online'),
    ...common,
    z_threshold: z.number().positive().default(2.5),
    half_life: halfLife,
  })
  .strict();

export const auto = z
  .object({
    class: z.literal('auto').default('auto'),
    ...common,
    z_threshold: z.number().positive().default(3),
    half_life: halfLife,
  })
  .strict();

export const modelSchema = z.discriminatedUnion('class', [zscoreOnline, auto.extend({ class: z.literal('auto') })]);
/** A model entry; `class` may be left out, meaning `auto`. */
export const modelEntry = z.preprocess(
  (v) => (v && typeof v === 'object' && !('class' in v) ? { ...v, class: 'auto' } : v),
  modelSchema,
);
export type ModelConfig = z.output<typeof modelSchema>;

import { Direction, Scorer } from '../models/scorer.js';
import { ZscoreOnline } from '../models/zscore-online.js';

export interface QueryScoring {
  detection_direction?: (typeof DIRECTIONS)[number];
  min_dev_from_expected?: number;
  data_range?: [number, number];
}

/** Build the Scorer of one (model, query) pair; query-level settings override the model's. */
export function compileModel(cfg: ModelConfig, q: QueryScoring): Scorer {
  const dir = q.detection_direction ?? cfg.detection_direction ?? 'both';
  const range = q.data_range ?? cfg.data_range ?? [-Infinity, Infinity];
  const model = new ZscoreOnline({ halfLifeMs: cfg.half_life, zThreshold: cfg.z_threshold, relFloor: 1e-3, absFloor: 1e-9 });
  return new Scorer(model, {
    minNSamplesSeen: cfg.min_n_samples_seen,
    direction: dir === 'above_expected' ? Direction.Above : dir === 'below_expected' ? Direction.Below : Direction.Both,
    minDevFromExpected: q.min_dev_from_expected ?? cfg.min_dev_from_expected ?? 0,
    dataRangeLow: range[0],
    dataRangeHigh: range[1],
    scoreOutsideDataRange: cfg.anomaly_score_outside_data_range,
    scale: cfg.scale,
    clipPredictions: cfg.clip_predictions,
  });
}

/** vmanomaly's default outputs, plus `y` when a transform makes it differ from the raw sample. */
export function defaultProvideSeries(cfg: ModelConfig, transform: string): OutputVar[] {
  if (cfg.provide_series) return [...cfg.provide_series];
  const vars: OutputVar[] = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'];
  if (transform !== 'none') vars.push('y');
  return vars;
}
