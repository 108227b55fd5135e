import { ValueAxis } from './axes.js';

/**
 * Path data of the replay picture (./plot.ts), downsampled per pixel column without losing an
 * extreme: M4 (first, min, max, last of each column) for lines, the column envelope for the band.
 */

export interface Columns {
  ts: ArrayLike<number>;
  xOf: (t: number) => number;
  colOf: (t: number) => number;
  /** Consecutive finite points further apart than this are not joined. */
  gapMs: number;
}

/** The widest step still drawn as a line: 10 median steps or 1% of `spanMs`, whichever is more. */
export function gapMs(ts: ArrayLike<number>, spanMs: number): number {
  const d: number[] = [];
  for (let i = 1; i < ts.length; i++) if (ts[i] > ts[i - 1]) d.push(ts[i] - ts[i - 1]);
  if (d.length === 0) return Infinity;
  d.sort((a, b) => a - b);
  return Math.max(10 * d[d.length >> 1], spanMs / 100);
}

/**
 * A line through the finite points of `v`, M4-downsampled per pixel column (first, min, max,
 * last, in row order, at their own timestamps); a non-finite value ends the current subpath.
 */
export function linePath(c: Columns, v: ArrayLike<number>, a: ValueAxis): string {
  const d: string[] = [];
  let subpath = -1; // index in d of the current subpath's M, -1 when none is open
  let col = -1;
  let iFirst = 0;
  let iMin = 0;
  let iMax = 0;
  let iLast = 0;
  let prev = '';
  const flush = (): void => {
    const rows = [iFirst, iMin, iMax, iLast].sort((x, y) => x - y);
    for (let k = 0; k < 4; k++) {
      if (k > 0 && rows[k] === rows[k - 1]) continue;
      const pt = `${r1(c.xOf(c.ts[rows[k]]))} ${r1(a.pix(v[rows[k]]))}`;
      if (subpath >= 0 && pt === prev) continue;
      if (subpath < 0) subpath = d.length;
      d.push((d.length === subpath ? 'M' : 'L') + pt);
      prev = pt;
    }
  };
  const endRun = (): void => {
    if (col >= 0) flush();
    if (subpath >= 0 && subpath === d.length - 1) d.push('L' + prev); // a lone point: a dot (round caps)
    subpath = -1;
    col = -1;
  };
  let lastT = NaN;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) {
      endRun();
      continue;
    }
    if (c.ts[i] - lastT > c.gapMs) endRun();
    lastT = c.ts[i];
    const ci = c.colOf(c.ts[i]);
    if (ci !== col) {
      if (col >= 0) flush();
      col = ci;
      iFirst = iMin = iMax = iLast = i;
    } else {
      if (x < v[iMin]) iMin = i;
      if (x > v[iMax]) iMax = i;
      iLast = i;
    }
  }
  endRun();
  return d.join('');
}

/**
 * The band's fill: per run of rows where both edges are finite, one polygon along the highest
 * upper edge of each pixel column, back along the lowest lower edge.
 */
export function bandPath(c: Columns, lower: ArrayLike<number>, upper: ArrayLike<number>, a: ValueAxis): string {
  const d: string[] = [];
  let top: string[] = [];
  let bot: string[] = [];
  let col = -1;
  let xa = 0;
  let xb = 0;
  let hi = 0;
  let lo = 0;
  const flushCol = (): void => {
    const yh = r1(a.pix(hi));
    const yl = r1(a.pix(lo));
    top.push(`${r1(xa)} ${yh}`);
    bot.push(`${r1(xa)} ${yl}`);
    if (r1(xb) !== r1(xa)) {
      top.push(`${r1(xb)} ${yh}`);
      bot.push(`${r1(xb)} ${yl}`);
    }
  };
  const flushRun = (): void => {
    if (col >= 0) flushCol();
    if (top.length > 0) {
      if (top.length === 1) {
        top.push(top[0]);
        bot.push(bot[0]);
      }
      d.push('M' + top.join('L') + 'L' + bot.reverse().join('L') + 'Z');
    }
    top = [];
    bot = [];
    col = -1;
  };
  let lastT = NaN;
  for (let i = 0; i < lower.length; i++) {
    const l = lower[i];
    const u = upper[i];
    if (!Number.isFinite(l) || !Number.isFinite(u)) {
      flushRun();
      continue;
    }
    if (c.ts[i] - lastT > c.gapMs) flushRun();
    lastT = c.ts[i];
    const ci = c.colOf(c.ts[i]);
    const x = c.xOf(c.ts[i]);
    if (ci !== col) {
      if (col >= 0) flushCol();
      col = ci;
      xa = xb = x;
      hi = u;
      lo = l;
    } else {
      xb = x;
      if (u > hi) hi = u;
      if (l < lo) lo = l;
    }
  }
  flushRun();
  return d.join('');
}

/** One decimal: 0.1 px is finer than any screen and keeps 25,000 points at a few hundred KB. */
export function r1(v: number): number {
  return Math.round(v * 10) / 10;
}
