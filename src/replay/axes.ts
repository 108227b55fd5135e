/**
 * Axes of the replay picture (./plot.ts): value scales with 1-2-5 ticks and compact SI labels,
 * the anomaly_score scale, and UTC time ticks whose unit follows the span. Pure functions.
 */

/** A value axis: `lo` at pixel `px0` (bottom), `hi` at `px1` (top); values outside are clamped. */
export class ValueAxis {
  constructor(
    readonly lo: number,
    readonly hi: number,
    readonly px0: number,
    readonly px1: number,
    /** Values above `logFrom` are on a log10 scale (score axis); Infinity: linear throughout. */
    readonly logFrom = Infinity,
    /** Share of the height given to [lo, logFrom] when there is a log part. */
    readonly linearShare = 1,
  ) {}

  pix(v: number): number {
    return this.px0 + (this.px1 - this.px0) * this.frac(v);
  }

  /** 0 at lo, 1 at hi. Halves first, so that a span of ±Number.MAX_VALUE does not overflow. */
  frac(v: number): number {
    if (!(v > this.lo)) return 0;
    if (!(v < this.hi)) return 1;
    if (v <= this.logFrom) {
      const top = this.logFrom < this.hi ? this.logFrom : this.hi;
      return ((v / 2 - this.lo / 2) / (top / 2 - this.lo / 2)) * (this.logFrom < this.hi ? this.linearShare : 1);
    }
    const l = Math.log10(v / this.logFrom) / Math.log10(this.hi / this.logFrom);
    return this.linearShare + (1 - this.linearShare) * l;
  }
}

/** The smallest 1-2-5 step that splits `span` into at most `maxTicks` intervals. */
export function niceStep(span: number, maxTicks: number): number {
  const raw = span / maxTicks;
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw * (1 - 1e-12)) return m * p;
  return 10 * p;
}

export interface Ticks {
  lo: number;
  hi: number;
  step: number;
  values: number[];
}

/** Domain [lo, hi] widened to whole 1-2-5 steps (at most `maxTicks` intervals), with its ticks. */
export function linearTicks(lo: number, hi: number, maxTicks: number): Ticks {
  const step = niceStep(hi / maxTicks - lo / maxTicks, 1);
  const ka = Math.floor(lo / step);
  const kb = Math.ceil(hi / step);
  const nlo = Number.isFinite(ka * step) ? ka * step : lo;
  const nhi = Number.isFinite(kb * step) ? kb * step : hi;
  return { lo: nlo, hi: nhi, step, values: multiples(nlo, nhi, step) };
}

/**
 * Domain [lo, hi] kept (the data fill the panel), ticks at the 1-2-5 multiples inside it: at most
 * about `maxTicks`, at least 3 (a finer step when the coarse one leaves fewer).
 */
export function innerTicks(lo: number, hi: number, maxTicks: number): Ticks {
  let step = niceStep(hi / maxTicks - lo / maxTicks, 1);
  let values = multiples(lo, hi, step);
  for (let k = 0; values.length < 3 && k < 4; k++) {
    const p = 10 ** Math.floor(Math.log10(step) + 1e-9);
    const m = Math.round(step / p);
    step = m === 5 ? 2 * p : m === 2 ? p : p / 2; // the next finer 1-2-5 step
    values = multiples(lo, hi, step);
  }
  return { lo, hi, step, values };
}

function multiples(lo: number, hi: number, step: number): number[] {
  const values: number[] = [];
  for (let k = Math.ceil(lo / step); k * step <= hi && values.length < 50; k++) if (Number.isFinite(k * step)) values.push(k * step);
  return values;
}

const PREFIXES: ReadonlyArray<[number, string]> = [
  [1e18, 'E'],
  [1e15, 'P'],
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
];

/**
 * Compact labels for ticks `step` apart whose largest magnitude is `maxAbs`: one SI prefix for
 * the whole axis (k ... E; µ, n below 0.001), as many decimals as the step needs, so adjacent
 * labels always differ; exponent notation beyond 1e21 or below 1e-9. A minus sign is U+2212.
 */
export function siFormatter(maxAbs: number, step: number): (v: number) => string {
  let factor = 1;
  let suffix = '';
  if (maxAbs >= 1e21 || (maxAbs > 0 && maxAbs < 1e-9)) {
    const digits = Math.max(0, Math.min(15, Math.floor(Math.log10(maxAbs)) - Math.floor(Math.log10(step) + 1e-9)));
    return (v) => (v === 0 ? '0' : v.toExponential(digits).replace('-', '−').replace('e+', 'e'));
  }
  for (const [f, s] of PREFIXES) {
    if (maxAbs >= f) {
      factor = f;
      suffix = s;
      break;
    }
  }
  if (maxAbs > 0 && maxAbs < 1e-3) [factor, suffix] = maxAbs < 1e-6 ? [1e-9, 'n'] : [1e-6, 'µ'];
  const decimals = Math.max(0, Math.min(20, Math.ceil(-Math.log10(step / factor) - 1e-9)));
  return (v) => {
    if (v === 0) return '0';
    return (v / factor).toFixed(decimals).replace('-', '−') + suffix;
  };
}

/** One value, compactly: at most 3 significant digits, an SI prefix, no trailing zeros (`1k`, `1.8e308`). */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a === 0 || !Number.isFinite(v)) return String(v);
  const s = siFormatter(a, 10 ** (Math.floor(Math.log10(a)) - 2))(v);
  return s.replace(/^(\D?\d+)\.(\d*?)0*(?=\D|$)/, (_, int: string, frac: string) => (frac ? `${int}.${frac}` : int));
}

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** Steps that divide a UTC day (and whole days); weeks start on Monday; then months, years. */
const FIXED_STEPS = [S, 2 * S, 5 * S, 10 * S, 15 * S, 30 * S, MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY];
const MONTH_STEPS = [1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200];
const MONDAY = 4 * DAY; // 1970-01-05 was a Monday

export interface TimeTick {
  t: number;
  /** The tick's own unit (`12:00`, `12:00:30`, `2015-09-01`, `2015-09`, `2015`). */
  label: string;
  /** The date under a time of day, on the first tick and where the day changes; else ''. */
  context: string;
}

/**
 * UTC ticks over [t0, t1]: the finest step from seconds to years giving at most `maxTicks`
 * ticks, aligned to whole units (days at midnight, weeks on Monday, months on the 1st).
 */
export function timeTicks(t0: number, t1: number, maxTicks: number): TimeTick[] {
  const span = t1 - t0;
  const fixed = FIXED_STEPS.find((s) => span / s <= maxTicks);
  const ticks: number[] = [];
  let unit: 'sec' | 'min' | 'day' | 'month' | 'year';
  if (fixed !== undefined) {
    const base = fixed === 7 * DAY || fixed === 14 * DAY ? MONDAY : 0;
    for (let t = Math.ceil((t0 - base) / fixed) * fixed + base; t <= t1; t += fixed) ticks.push(t);
    unit = fixed < MIN ? 'sec' : fixed < DAY ? 'min' : 'day';
  } else {
    const first = new Date(t0);
    const m0 = first.getUTCFullYear() * 12 + first.getUTCMonth();
    const last = new Date(t1);
    const spanMonths = last.getUTCFullYear() * 12 + last.getUTCMonth() - m0 + 1;
    const step = MONTH_STEPS.find((s) => spanMonths / s <= maxTicks) ?? Math.ceil(spanMonths / maxTicks / 1200) * 1200;
    for (let m = Math.ceil(m0 / step) * step; ; m += step) {
      const t = Date.UTC(Math.floor(m / 12), m % 12, 1);
      if (t > t1) break;
      if (t >= t0) ticks.push(t);
    }
    unit = step % 12 === 0 ? 'year' : 'month';
  }
  let prevDay = '';
  return ticks.map((t) => {
    const iso = new Date(t).toISOString();
    const day = iso.slice(0, 10);
    let label: string;
    let context = '';
    if (unit === 'sec' || unit === 'min') {
      label = iso.slice(11, unit === 'sec' ? 19 : 16);
      if (day !== prevDay) context = day;
      prevDay = day;
    } else label = unit === 'day' ? day : unit === 'month' ? iso.slice(0, 7) : iso.slice(0, 4);
    return { t, label, context };
  });
}

/** `2015-09-01 12:00` (UTC). */
export function formatTime(t: number): string {
  return new Date(t).toISOString().slice(0, 16).replace('T', ' ');
}
