import { z } from 'zod';
import { duration, parseDurationMs } from './duration.js';
import { dataRange, twoSided } from './forms.js';
import { Direction, SCORER_SLOTS, Scorer, ScorerParams } from '../models/scorer.js';
import { Model } from '../models/model.js';
import { SurpriseParams } from '../models/surprise.js';
import { ZscoreOnline } from '../models/zscore-online.js';
import { MadOnline } from '../models/mad-online.js';
import { QuantileOnline } from '../models/quantile-online.js';
import { HoltWintersOnline, SEASON as HW_SEASON } from '../models/holtwinters-online.js';
import { BUCKET_SLOTS as SQ_BUCKET_SLOTS, SeasonalQuantileOnline, SEASON as SQ_SEASON } from '../models/seasonal-quantile-online.js';
import { AutoModel, SEASON as AUTO_SEASON } from '../models/auto.js';
import { SeasonClock, checkTimeZone } from '../models/season.js';

/**
 * The `models:` section: one entry per model alias. Keys shared by every class follow
 * vmanomaly's names; each class adds its own. This file is the documentation of defaults.
 *
 * Every smoothing setting is a duration (a half-life: the weight of a point halves after
 * that much time), never a per-point factor, so NAB's 5-minute steps and a 15 s scrape mean
 * the same. `decay` is accepted wherever `half_life` is, as vmanomaly's name for it, but only
 * as a duration (`decay: 2h` = `half_life: 2h`). vmanomaly's numeric per-sample factor d in
 * (0, 1] is rejected with the conversion: half_life = step·ln 2 / -ln d (d = 1: no decay;
 * use a long half_life such as 365d), e.g. d = 0.99 at a 15 s scrape = half_life ≈ 17m15s.
 */
export const OUTPUT_VARS = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper', 'y'] as const;
export type OutputVar = (typeof OUTPUT_VARS)[number];
/** vmanomaly's default provide_series (y only when a transform makes it differ from the sample). */
export const DEFAULT_PROVIDE_SERIES: readonly OutputVar[] = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'];

export const DIRECTIONS = ['both', 'above_expected', 'below_expected'] as const;

/** Settings vmanomaly lets a query override (v1.30.2): model value is the fallback. */
export const perQueryScoring = {
  /** Which side of yhat may score above 0 (default both). */
  detection_direction: z.enum(DIRECTIONS).optional(),
  /** Absolute |y - yhat| under which the score is forced to 0 (default 0); n or [below yhat, above yhat]. */
  min_dev_from_expected: twoSided(0, false, 'a number').optional(),
  /** |y - yhat| under this percentage of |yhat| scores 0 (default 0); n or [below, above]. */
  min_rel_dev_from_expected: twoSided(0, false, 'a percentage').optional(),
  /** Values outside [low, high] score anomaly_score_outside_data_range (default [-inf, inf]); 'inf' strings allowed. */
  data_range: dataRange.optional(),
};

const common = {
  /** Query aliases this model scores; default: every query. */
  queries: z.array(z.string()).optional(),
  /** Warm-up: no generated series are written before this many points of a series. */
  min_n_samples_seen: z.number().int().min(0).default(16),
  ...perQueryScoring,
  anomaly_score_outside_data_range: z.number().min(0).default(1.01),
  /**
   * Series written per scored point; default vmanomaly's [anomaly_score, yhat, yhat_lower,
   * yhat_upper], plus `y` when the query has a transform (see defaultProvideSeries).
   */
  provide_series: z.array(z.enum(OUTPUT_VARS)).min(1).optional(),
  /** Clip yhat and its band to data_range. */
  clip_predictions: z.boolean().default(false),
  /** Band half-width multiplier; n or [below yhat, above yhat]. */
  scale: twoSided(0, true, 'a multiplier').prefault(1),
  /**
   * What a point scoring above 1 leaves behind (models/surprise.ts; every default chosen by
   * leave-one-category-out on NAB, bench/RESULTS.md). The band widens to cover it (surprise_cover
   * × its deviation: the same deviation next scores 1/surprise_cover) and shrinks back with
   * half-life `release` of time and `release_points` points back inside the model's own band: a
   * change is reported once and held while it persists; after a blip the series is judged as
   * before within a few dozen points.
   */
  release: duration.prefault('1d'),
  release_points: z.number().positive().default(10),
  surprise_cover: z.number().min(1).default(1.25),
  /**
   * The band is at least the second-largest recent surprise (fading with record_half_life), unless
   * the deviation in progress has lasted record_points points and longer than that one did.
   */
  record_half_life: duration.prefault('14d'),
  record_points: z.number().positive().default(3),
  /** A value beyond the recent high/low (relaxing with range_half_life) by range_margin of their distance scores above 1. */
  range_margin: z.number().min(0).default(0.15),
  range_half_life: duration.prefault('30d'),
  /** The range test starts once a series has been seen this long (and for 128 points): before, its range is still being discovered. */
  settle_time: duration.prefault('1d'),
};

/** `decay`: a duration only, alias of the class's half_life (see the header). */
const decay = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'string' ? parseDurationMs(v.trim()) : null;
  if (ms === null || !(ms > 0)) {
    ctx.addIssue({
      code: 'custom',
      message:
        typeof v === 'number'
          ? `expected a half-life duration such as '2h'; vmanomaly's per-sample factor ${v} is step-dependent: use half_life = step·ln2/-ln(d) (d=0.99 at 15s: '17m15s')`
          : `expected a positive duration such as '2h', got '${v}'`,
    });
    return z.NEVER;
  }
  return ms;
});

const quantiles = z
  .tuple([z.number().gt(0).lt(1), z.number().gt(0).lt(1), z.number().gt(0).lt(1)])
  .refine((q) => q[0] < q[1] && q[1] < q[2], { message: 'expected [low, mid, high] with 0 < low < mid < high < 1' });

export const tz = z.string().superRefine((v, ctx) => {
  const err = checkTimeZone(v);
  if (err) ctx.addIssue({ code: 'custom', message: err });
});

/** Wall-clock anchor of the season (vmanomaly's season_starts_from), ISO date or date-time. */
const seasonStart = z.string().superRefine((v, ctx) => {
  if (!Number.isFinite(startMs(v))) ctx.addIssue({ code: 'custom', message: `expected an ISO date such as '2024-01-01', got '${v}'` });
});
function startMs(v: string): number {
  const s = /^\d{4}-\d{2}-\d{2}$/.test(v) ? v + 'T00:00:00Z' : /[zZ]|[+-]\d{2}:?\d{2}$/.test(v) ? v : v + 'Z';
  return Date.parse(s);
}

const season = {
  /** Period of the seasonality (1d: time of day, 7d: day of week and time of day). */
  seasonality: duration.prefault('1d'),
  /** Wall-clock start of a period in `tz` (1970-01-01 is a Thursday). */
  season_starts_from: seasonStart.default('1970-01-01'),
  /** IANA time zone of the season's wall clock (DST-aware). */
  tz: tz.default('UTC'),
};

export const zscoreOnline = z
  .object({
    class: z.literal('zscore_online'),
    ...common,
    /**
     * Band = mean ± z_threshold·σ. 2.5 is vmanomaly's default, kept so a pasted config means what
     * it meant (leave-one-category-out on NAB, z free, picks 3 with half_life 7d: 60.4 vs 59.8 on
     * all 58 files).
     */
    z_threshold: z.number().positive().default(2.5),
    /** Memory of the exponentially weighted mean and variance. */
    half_life: duration.prefault('3d'),
    decay: decay.optional(),
  })
  .strict();

export const madOnline = z
  .object({
    class: z.literal('mad_online'),
    ...common,
    /** Band = median ± threshold·1.4826·MAD (1.4826·MAD = σ for Gaussian noise). */
    threshold: z.number().positive().default(3.5),
    /** Memory of the streaming median and MAD. */
    half_life: duration.prefault('3d'),
    decay: decay.optional(),
  })
  .strict();

export const quantileOnline = z
  .object({
    class: z.literal('quantile_online'),
    ...common,
    /** [lower, yhat, upper] quantiles. */
    quantiles: quantiles.default([0.001, 0.5, 0.999]),
    /** Memory of the streaming quantiles. */
    half_life: duration.prefault('7d'),
    decay: decay.optional(),
  })
  .strict();

/**
 * Bucket limits that keep a series' state within 1 KiB (128 Float64 slots, SCORER_SLOTS of them the
 * scorer's): each model's slots before its first bucket (SEASON), then holtwinters K, seasonal_quantile
 * BUCKET_SLOTS·K, auto K + KW.
 */
const SLOTS_1KIB = 128 - SCORER_SLOTS;
const HW_MAX_BUCKETS = SLOTS_1KIB - HW_SEASON;
const SQ_MAX_BUCKETS = Math.floor((SLOTS_1KIB - SQ_SEASON) / SQ_BUCKET_SLOTS);
const AUTO_MAX_BUCKETS = SLOTS_1KIB - AUTO_SEASON;

export const holtwintersOnline = z
  .object({
    class: z.literal('holtwinters_online'),
    ...common,
    ...season,
    /** Seasonal buckets per period (linearly interpolated); at most 110 (1 KiB of state per series). */
    buckets: z.number().int().min(1).max(HW_MAX_BUCKETS).default(24),
    /**
     * Band = yhat ± z_threshold·σ of the one-step residual. Leave-one-category-out on NAB leans to
     * 3.5-4.5 (4.5: 59.8 vs 58.0 on all 58 files), which misses the flattened daily peak of
     * test/unit/models-behaviour.test.ts (4.5: 0.68); 3 catches it (1.02).
     */
    z_threshold: z.number().positive().default(3),
    /** Level memory (3h, leave-one-category-out's pick at z 3: 60.8 vs 58.0, misses the flattened peak too: 0.65). */
    half_life: duration.prefault('1h'),
    decay: decay.optional(),
    /** Trend memory and the half-life with which the trend itself fades to 0. */
    trend_half_life: duration.prefault('1d'),
    trend_damping: duration.prefault('6h'),
    /** Memory of each seasonal bucket, in wall-clock time. */
    season_half_life: duration.prefault('3d'),
    /** Memory of the residual spread. */
    spread_half_life: duration.prefault('1d'),
  })
  .strict();

export const seasonalQuantileOnline = z
  .object({
    class: z.literal('seasonal_quantile_online'),
    ...common,
    ...season,
    /** Buckets per period; at most 36 (1 KiB of state per series). */
    buckets: z.number().int().min(1).max(SQ_MAX_BUCKETS).default(24),
    quantiles: quantiles.default([0.005, 0.5, 0.995]),
    /** Memory of each bucket's quantiles, in wall-clock time. */
    half_life: duration.prefault('7d'),
    decay: decay.optional(),
  })
  .strict();

const autoShape = {
  ...common,
  ...season,
  /** auto's own (leave-one-category-out picks these with its profiles; the other classes 1.25 and 14d). */
  surprise_cover: z.number().min(1).default(1.5),
  record_half_life: duration.prefault('7d'),
  /** Buckets of the `seasonality` profile (piecewise constant); 0 turns seasonality off. */
  buckets: z.number().int().min(0).max(AUTO_MAX_BUCKETS).default(24),
  /** Buckets of a second, weekly profile learnt on top (used while seasonality is shorter than 7d); 0 turns it off. */
  weekly_buckets: z.number().int().min(0).max(AUTO_MAX_BUCKETS).default(56),
  /** Band = yhat ± z_threshold·σ (σ ≈ 1.25·mean |residual|). */
  z_threshold: z.number().positive().default(4.5),
  /** Level memory. */
  half_life: duration.prefault('2h'),
  decay: decay.optional(),
  /** Memory of the normal residual spread. */
  spread_half_life: duration.prefault('1d'),
  /** Memory of each daily bucket, in wall-clock time. */
  season_half_life: duration.prefault('7d'),
  /** Memory of each weekly bucket, in wall-clock time. */
  weekly_half_life: duration.prefault('7d'),
  /** Residuals are clipped at ±clip·band half-width before they are learned. */
  clip: z.number().positive().default(1),
  /** Band floor relative to |yhat|. */
  rel_floor: z.number().min(0).default(0.001),
  /** Band floor in multiples of the series' typical non-zero step |Δy|. */
  step_floor: z.number().min(0).default(1),
  /**
   * The model's band half-width is multiplied by this until `settle_time` has passed since a series'
   * first point (what it holds back is still remembered by the recurrence rule). Leave-one-category-out
   * on NAB picks 3 in 6 of 7 folds (of 1, 1.5, 2, 3, 4); on held-out CMD it cuts false onsets 1.10 → 0.88 per 1000.
   */
  first_day_scale: z.number().min(1).default(3),
};
/** buckets + weekly_buckets within 1 KiB of state per series. */
const autoBuckets = (v: { buckets: number; weekly_buckets: number }): boolean => v.buckets + v.weekly_buckets <= AUTO_MAX_BUCKETS;
const autoBucketsError = { message: `buckets + weekly_buckets must be at most ${AUTO_MAX_BUCKETS} (1 KiB of state per series)`, path: ['weekly_buckets'] };
const autoTagged = z
  .object({ class: z.literal('auto'), ...autoShape })
  .strict()
  .refine(autoBuckets, autoBucketsError);

export const modelSchema = z.discriminatedUnion('class', [zscoreOnline, madOnline, quantileOnline, holtwintersOnline, seasonalQuantileOnline, autoTagged]);
export const MODEL_CLASSES = ['zscore_online', 'mad_online', 'quantile_online', 'holtwinters_online', 'seasonal_quantile_online', 'auto'] as const;
/** A model entry; `class` may be left out, meaning `auto`. */
export const modelEntry = z.preprocess((v) => (v && typeof v === 'object' && !('class' in v) ? { ...v, class: 'auto' } : v), modelSchema);
export type ModelConfig = z.output<typeof modelSchema>;

/** Query-level overrides (reader.queries.<alias>), as in vmanomaly v1.30.2. */
export interface QueryScoring {
  detection_direction?: (typeof DIRECTIONS)[number];
  min_dev_from_expected?: readonly [number, number];
  min_rel_dev_from_expected?: readonly [number, number];
  data_range?: readonly [number, number];
  /** The query's time zone (vmanomaly's per-query tz): overrides a seasonal model's tz. */
  tz?: string;
}

const ABS_FLOOR = 1e-9;
/** Band floor relative to |yhat| of the classes without a rel_floor setting (surprise() passes it on). */
const REL_FLOOR = 1e-3;

/** Builds the model and its scoring policy; query-level values override model-level ones. */
export function compileModel(cfg: ModelConfig, q: QueryScoring = {}): Scorer {
  const dir = q.detection_direction ?? cfg.detection_direction ?? 'both';
  const range = q.data_range ?? cfg.data_range ?? [-Infinity, Infinity];
  const minDev = q.min_dev_from_expected ?? cfg.min_dev_from_expected ?? [0, 0];
  const minRel = q.min_rel_dev_from_expected ?? cfg.min_rel_dev_from_expected ?? [0, 0];
  const params: ScorerParams = {
    minNSamplesSeen: cfg.min_n_samples_seen,
    direction: dir === 'above_expected' ? Direction.Above : dir === 'below_expected' ? Direction.Below : Direction.Both,
    minDevLower: minDev[0],
    minDevUpper: minDev[1],
    minRelDevLower: minRel[0] / 100,
    minRelDevUpper: minRel[1] / 100,
    dataRangeLow: range[0],
    dataRangeHigh: range[1],
    scoreOutsideDataRange: cfg.anomaly_score_outside_data_range,
    scaleLower: cfg.scale[0],
    scaleUpper: cfg.scale[1],
    clipPredictions: cfg.clip_predictions,
  };
  return new Scorer(buildModel(q.tz !== undefined && 'tz' in cfg ? { ...cfg, tz: q.tz } : cfg), params);
}

/**
 * Version of each model class' state layout (what its slots mean), part of the snapshot
 * fingerprint (scoring/instances.ts stateFingerprint): bump a class' number when a change gives
 * a slot another meaning without changing the slot count, so that a snapshot written before is
 * not restored into it (its series start cold instead of from wrong numbers). Version 1 is
 * left out of the fingerprint, so snapshots written before versions existed still restore.
 */
export const STATE_LAYOUT: Record<ModelConfig['class'], number> = {
  zscore_online: 1,
  mad_online: 1,
  quantile_online: 1,
  holtwinters_online: 1,
  seasonal_quantile_online: 1,
  auto: 1,
};

function buildModel(cfg: ModelConfig): Model {
  switch (cfg.class) {
    case 'zscore_online':
      return new ZscoreOnline({ halfLifeMs: cfg.decay ?? cfg.half_life, zThreshold: cfg.z_threshold, absFloor: ABS_FLOOR, ...surprise(cfg) });
    case 'mad_online':
      return new MadOnline({ halfLifeMs: cfg.decay ?? cfg.half_life, threshold: cfg.threshold, absFloor: ABS_FLOOR, ...surprise(cfg) });
    case 'quantile_online':
      return new QuantileOnline({
        halfLifeMs: cfg.decay ?? cfg.half_life,
        qLo: cfg.quantiles[0],
        qMid: cfg.quantiles[1],
        qHi: cfg.quantiles[2],
        absFloor: ABS_FLOOR,
        ...surprise(cfg),
      });
    case 'holtwinters_online':
      return new HoltWintersOnline(
        {
          levelHalfLifeMs: cfg.decay ?? cfg.half_life,
          trendHalfLifeMs: cfg.trend_half_life,
          trendDampingMs: cfg.trend_damping,
          seasonHalfLifeMs: cfg.season_half_life,
          spreadHalfLifeMs: cfg.spread_half_life,
          z: cfg.z_threshold,
          absFloor: ABS_FLOOR,
          ...surprise(cfg),
        },
        clockOf(cfg, cfg.buckets),
      );
    case 'seasonal_quantile_online':
      return new SeasonalQuantileOnline(
        {
          halfLifeMs: cfg.decay ?? cfg.half_life,
          qLo: cfg.quantiles[0],
          qMid: cfg.quantiles[1],
          qHi: cfg.quantiles[2],
          absFloor: ABS_FLOOR,
          ...surprise(cfg),
        },
        clockOf(cfg, cfg.buckets),
      );
    case 'auto':
      return new AutoModel(
        {
          z: cfg.z_threshold,
          levelHalfLifeMs: cfg.decay ?? cfg.half_life,
          spreadHalfLifeMs: cfg.spread_half_life,
          seasonHalfLifeMs: cfg.season_half_life,
          weekHalfLifeMs: cfg.weekly_half_life,
          ...surprise(cfg),
          clip: cfg.clip,
          absFloor: ABS_FLOOR,
          qFloor: cfg.step_floor,
          firstDayScale: cfg.first_day_scale,
        },
        cfg.buckets > 0 ? clockOf(cfg, cfg.buckets) : null,
        cfg.buckets > 0 && cfg.weekly_buckets > 0 && cfg.seasonality < WEEK_MS ? clockOf({ ...cfg, seasonality: WEEK_MS }, cfg.weekly_buckets) : null,
      );
  }
}

const WEEK_MS = 7 * 86_400_000;

function surprise(cfg: {
  release: number;
  surprise_cover: number;
  release_points: number;
  record_half_life: number;
  range_margin: number;
  range_half_life: number;
  settle_time: number;
  record_points: number;
  rel_floor?: number;
}): SurpriseParams {
  return {
    releaseMs: cfg.release,
    gamma: cfg.surprise_cover,
    keep: Math.pow(2, -1 / cfg.release_points),
    recordMs: cfg.record_half_life,
    rangeMargin: cfg.range_margin,
    rangeMs: cfg.range_half_life,
    settleMs: cfg.settle_time,
    runMax: cfg.record_points,
    relFloor: cfg.rel_floor ?? REL_FLOOR,
  };
}

function clockOf(cfg: { seasonality: number; season_starts_from: string; tz: string }, buckets: number): SeasonClock {
  return new SeasonClock(cfg.seasonality, buckets, startMs(cfg.season_starts_from), cfg.tz);
}

/** Series written per point: provide_series, or vmanomaly's default plus `y` when a transform applies. */
export function defaultProvideSeries(cfg: ModelConfig, transform?: string): OutputVar[] {
  if (cfg.provide_series) return [...cfg.provide_series];
  const out = [...DEFAULT_PROVIDE_SERIES];
  if (transform !== undefined && transform !== 'none') out.push('y');
  return out;
}
