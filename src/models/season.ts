/**
 * Position of a timestamp inside a season (a day, a week, ...), as a real bucket index.
 *
 *   local(t) = t + offset_tz(t)              (wall-clock milliseconds in `tz`)
 *   phase(t) = ((local(t) - start) mod P) / P in [0, 1)
 *   pos(t)   = phase(t) * K                    (K buckets; bucket i = floor(pos), f = pos - i)
 * `start` is `season_starts_from` read as a wall-clock time, so a 7d season starting on a
 * Monday puts Monday 00:00 local at bucket 0. Models interpolate linearly between bucket
 * i and i+1 (mod K) with weight f, so the seasonal curve has no steps at bucket edges.
 *
 * The tz offset comes from Intl once per 15 minutes of data time (DST changes fall on
 * quarter hours) and is cached in the clock, shared by all series of one model: no
 * allocation per point unless a point lands in a new quarter hour.
 */
import type { Prediction } from './model.js';

const QUARTER_MS = 15 * 60_000;

export class SeasonClock {
  private cacheFrom = 1;
  private cacheTo = 0;
  private cacheOffset = 0;
  /** Local time at which the period holding the last point began (exact: integer ms). */
  private periodBase = NaN;
  /** The last timestamp asked (at(), pos()). */
  private lastTs = NaN;
  /** The real-valued bucket position of the last timestamp asked, in [0, buckets) (see pos()). */
  position = 0;
  private readonly fmt: Intl.DateTimeFormat | null;

  constructor(
    readonly periodMs: number,
    readonly buckets: number,
    readonly startMs: number,
    tz: string,
  ) {
    this.fmt =
      tz === 'UTC' || tz === 'Etc/UTC'
        ? null
        : new Intl.DateTimeFormat('en-US', {
            timeZone: tz,
            hourCycle: 'h23',
            year: 'numeric',
            month: 'numeric',
            day: 'numeric',
            hour: 'numeric',
            minute: 'numeric',
            second: 'numeric',
          });
  }

  /**
   * Real-valued bucket position in [0, buckets). The last answer is kept: the series of one scrape
   * share its timestamp, so nearly every call is a comparison (small enough for V8 to inline at
   * each call site; the computation stays out of line).
   */
  pos(tsMs: number): number {
    if (tsMs !== this.lastTs) {
      this.lastTs = tsMs;
      this.move();
    }
    return this.position;
  }

  /**
   * pos(out.t) for the models' hot path, the answer in the field `position`: no double crosses the
   * call either way. V8 does not always inline pos() (a model compiled before the clock had its
   * feedback), and then boxed the timestamp and the result on every point.
   */
  at(out: Prediction): void {
    const tsMs = out.t;
    if (tsMs !== this.lastTs) {
      this.lastTs = tsMs;
      this.move();
    }
  }

  /**
   * `position` for lastTs. Takes no argument: with tsMs as its argument V8 boxed tsMs for the call,
   * and where pos() was inlined twice into one function (auto: the daily and the weekly clock) it
   * placed that one box before both clocks' checks, so it ran on every point (16 bytes each,
   * bench/inproc). Sets the field, returns nothing (a result merged into the field read is boxed).
   */
  private move(): void {
    const tsMs = this.lastTs;
    const local = this.fmt === null ? tsMs : tsMs + this.offset(tsMs);
    // Within the last point's period (nearly always: series share the scrape time) no fmod.
    let r = local - this.periodBase;
    if (!(r >= 0 && r < this.periodMs)) r = this.rebase(local);
    const p = (r / this.periodMs) * this.buckets;
    this.position = p < this.buckets ? p : 0;
  }

  /** Starts the period holding `local` (rare: kept out of position()). */
  private rebase(local: number): number {
    let r = (local - this.startMs) % this.periodMs;
    if (r < 0) r += this.periodMs;
    this.periodBase = local - r;
    return r;
  }

  /** Milliseconds to add to UTC to get wall-clock time in the clock's zone. */
  offset(tsMs: number): number {
    if (this.fmt === null) return 0;
    if (tsMs >= this.cacheFrom && tsMs < this.cacheTo) return this.cacheOffset;
    const from = Math.floor(tsMs / QUARTER_MS) * QUARTER_MS;
    this.cacheFrom = from;
    this.cacheTo = from + QUARTER_MS;
    this.cacheOffset = tzOffsetMs(this.fmt, from);
    return this.cacheOffset;
  }
}

/** Offset of the formatter's zone at instant `ms` (wall clock minus UTC). */
export function tzOffsetMs(fmt: Intl.DateTimeFormat, ms: number): number {
  const f: Record<string, number> = {};
  for (const p of fmt.formatToParts(ms)) if (p.type !== 'literal') f[p.type] = Number(p.value);
  const wall = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  return wall - Math.floor(ms / 1000) * 1000;
}

/** Validates an IANA zone name; returns an error message or null. */
export function checkTimeZone(tz: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return null;
  } catch {
    return `expected an IANA time zone such as 'UTC' or 'Europe/Berlin', got '${tz}'`;
  }
}
