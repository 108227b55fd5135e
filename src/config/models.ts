import { z } from 'zod';
import { duration, parseDurationMs } from './duration.js';
import { dataRange, twoSided } from './forms.js';
import { Direction, Scorer, ScorerParams } from '../models/scorer.js';
import { Model } from '../models/model.js';
import { ZscoreOnline } from '../models/zscore-online.js';
import { MadOnline } from '../models/mad-online.js';
import { QuantileOnline } from '../models/quantile-online.js';
import { HoltWintersOnline } from '../models/holtwinters-online.js';
import { SeasonalQuantileOnline } from '../models/seasonal-quantile-online.js';
import { AutoModel } from '../models/auto.js';
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
   * Half-life with which the band shrinks back after a point scored above 1 (see
   * models/surprise.ts). 2d: longer than a day, so a change that recurs daily (a nightly
   * batch, a square-wave load) is reported once, not every day, unless the model learns it
   * as a season; `auto` does and releases faster (1d), see seasonal_quantile_online for its 1d.
   */
  release: duration.prefault('2d'),
  /** After a point scores s > 1 the band covers it: the same deviation next scores 1/surprise_cover. */
  surprise_cover: z.number().min(1).default(1.5),
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
    /** Band = mean ± z_threshold·σ. */
    z_threshold: z.number().positive().default(2.5),
    /** Memory of the exponentially weighted mean and variance. */
    half_life: duration.prefault('1d'),
    decay: decay.optional(),
  })
  .strict();

export const madOnline = z
  .object({
    class: z.literal('mad_online'),
    ...common,
    /** Band = median ± threshold·1.4826·MAD (1.4826·MAD = σ for Gaussian noise). */
    threshold: z.number().positive().default(2.5),
    /** Memory of the streaming median and MAD. */
    half_life: duration.prefault('1d'),
    decay: decay.optional(),
  })
  .strict();

export const quantileOnline = z
  .object({
    class: z.literal('quantile_online'),
    ...common,
    /** [lower, yhat, upper] quantiles. */
    quantiles: quantiles.default([0.01, 0.5, 0.99]),
    /** Memory of the streaming quantiles. */
    half_life: duration.prefault('1d'),
    decay: decay.optional(),
  })
  .strict();

export const holtwintersOnline = z
  .object({
    class: z.literal('holtwinters_online'),
    ...common,
    ...season,
    /** Seasonal buckets per period (linearly interpolated); 7 + buckets slots (+ 2 of the scorer), so at most 119 (1 KiB per series). */
    buckets: z.number().int().min(1).max(119).default(24),
    /** Band = yhat ± z_threshold·σ of the one-step residual. */
    z_threshold: z.number().positive().default(3),
    /** Level memory. */
    half_life: duration.prefault('1h'),
    decay: decay.optional(),
    /** Trend memory and the half-life with which the trend itself fades to 0. */
    trend_half_life: duration.prefault('1d'),
    trend_damping: duration.prefault('1d'),
    /** Memory of each seasonal bucket, in wall-clock time. */
    season_half_life: duration.prefault('7d'),
    /** Memory of the residual spread. */
    spread_half_life: duration.prefault('1d'),
  })
  .strict();

export const seasonalQuantileOnline = z
  .object({
    class: z.literal('seasonal_quantile_online'),
    ...common,
    ...season,
    /** Buckets per period; 7 + 3·buckets slots (+ 2 of the scorer), so at most 39 (1 KiB per series). */
    buckets: z.number().int().min(1).max(39).default(24),
    quantiles: quantiles.default([0.01, 0.5, 0.99]),
    /** Memory of each bucket's quantiles, in wall-clock time. */
    half_life: duration.prefault('7d'),
    decay: decay.optional(),
    /**
     * 1d, not 2d as the other classes: a bucket learns only on its own visits, so its first
     * days bring marginal surprises whose envelope (γ·|e| on a still wide band) would hide a
     * real anomaly for longer (test/unit/models-behaviour.test.ts, flattened peak on day 4).
     */
    release: duration.prefault('1d'),
  })
  .strict();

const autoShape = {
  ...common,
  ...season,
  /** Seasonal buckets per period (piecewise constant); 0 turns seasonality off; 7 + buckets slots (+ 2), so at most 119 (1 KiB). */
  buckets: z.number().int().min(0).max(119).default(24),
  /** Band = yhat ± z_threshold·σ (σ ≈ 1.25·mean |residual|). */
  z_threshold: z.number().positive().default(4.5),
  /** Level memory. */
  half_life: duration.prefault('3h'),
  decay: decay.optional(),
  /** Memory of the normal residual spread. */
  spread_half_life: duration.prefault('1d'),
  /** Memory of each seasonal bucket, in wall-clock time. */
  season_half_life: duration.prefault('1d'),
  /** Half-life with which the band shrinks back after a point scored above 1 (see models/surprise.ts). */
  release: duration.prefault('1d'),
  /** Residuals are clipped at ±clip·band half-width before they are learned. */
  clip: z.number().positive().default(1),
  /** Band floor relative to |yhat|. */
  rel_floor: z.number().min(0).default(0.001),
  /** Band floor in multiples of the series' typical non-zero step |Δy|. */
  step_floor: z.number().min(0).default(1),
};
const autoTagged = z.object({ class: z.literal('auto'), ...autoShape }).strict();

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

function buildModel(cfg: ModelConfig): Model {
  switch (cfg.class) {
    case 'zscore_online':
      return new ZscoreOnline({ halfLifeMs: cfg.decay ?? cfg.half_life, zThreshold: cfg.z_threshold, relFloor: 1e-3, absFloor: ABS_FLOOR, ...surprise(cfg) });
    case 'mad_online':
      return new MadOnline({ halfLifeMs: cfg.decay ?? cfg.half_life, threshold: cfg.threshold, relFloor: 1e-3, absFloor: ABS_FLOOR, ...surprise(cfg) });
    case 'quantile_online':
      return new QuantileOnline({
        halfLifeMs: cfg.decay ?? cfg.half_life,
        qLo: cfg.quantiles[0],
        qMid: cfg.quantiles[1],
        qHi: cfg.quantiles[2],
        relFloor: 1e-3,
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
          relFloor: 1e-3,
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
          relFloor: 1e-3,
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
          ...surprise(cfg),
          clip: cfg.clip,
          relFloor: cfg.rel_floor,
          absFloor: ABS_FLOOR,
          qFloor: cfg.step_floor,
        },
        cfg.buckets > 0 ? clockOf(cfg, cfg.buckets) : null,
      );
  }
}

function surprise(cfg: { release: number; surprise_cover: number }): { releaseMs: number; gamma: number } {
  return { releaseMs: cfg.release, gamma: cfg.surprise_cover };
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
