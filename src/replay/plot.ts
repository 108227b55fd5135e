import { compact, formatTime, innerTicks, linearTicks, siFormatter, timeTicks, ValueAxis } from './axes.js';
import { bandPath, Columns, gapMs, linePath, r1 } from './plot-paths.js';

/**
 * One SVG picture of a scored series (`replay --plot`, bench/nab): `y`, `yhat` and the band
 * [yhat_lower, yhat_upper] over time, `anomaly_score` beneath with the threshold line, every row
 * scoring above the threshold marked in both panels, labelled windows shaded. Pure: columns in,
 * SVG 1.1 text out (no fonts or other assets: generic font families only).
 *
 * Downsampling never drops a point that matters: each pixel column keeps, per series, its first,
 * minimum, maximum and last finite point (M4), drawn at their own timestamps, so every spike
 * reaches its true extreme at any length. A NaN (warm-up, stale marker, a row not fed to the
 * model) ends the line, and so does a time gap wider than both 10 median steps and 1% of the
 * time axis (a few pixels: missing data is not drawn as a straight line, an irregular step is
 * not a gap); an isolated point is a dot.
 *
 * Machine-readable attributes in the `urn:anomstream:plot` namespace (prefix `as:`; SVG 1.1
 * allows foreign-namespace attributes) say what is drawn where, for tests and tools: the time
 * axis on the root (`as:t0`/`as:t1` at pixels `as:x0`/`as:x1`), each panel's value axis
 * (`as:lo` at pixel `as:px0`, `as:hi` at `as:px1`, and for the score axis `as:log-from`,
 * `as:linear-share`), `as:v`/`as:t` on ticks, `as:rows` (row indices) on each mark,
 * `as:start`/`as:end` (ms) on each window.
 */
export interface PlotInput {
  /** Title: the input file's name. */
  title: string;
  /** Timestamps, ms since the epoch (UTC), in row order. */
  ts: ArrayLike<number>;
  y: ArrayLike<number>;
  /** Prediction columns: NaN where nothing was predicted (warm-up, rows not fed). */
  yhat: ArrayLike<number>;
  lower: ArrayLike<number>;
  upper: ArrayLike<number>;
  /** anomaly_score: NaN (or absent) where not scored. */
  score: ArrayLike<number>;
  /** Rows scoring strictly above it are marked (default 1). */
  threshold?: number;
  /** Labelled windows, [startMs, endMs]. */
  windows?: ReadonlyArray<readonly [number, number]>;
  width?: number;
  height?: number;
}

export const PLOT_NS = 'urn:anomstream:plot';

/**
 * The score axis is linear while the largest score is at most LINEAR_SCORE_MAX. Above that it is
 * linear on [0, 1] and log10 from 1 up to the next power of ten, capped at SCORE_CAP: scores
 * above the cap (Number.MAX_VALUE included) are drawn at the top edge, and a note says how many
 * and the largest. Below the threshold the shape of normal scores stays readable; above it the
 * decades show how far out a point was.
 */
const LINEAR_SCORE_MAX = 5;
const SCORE_CAP = 1000;

const FONT = 'system-ui, -apple-system, &quot;Segoe UI&quot;, Roboto, Helvetica, Arial, sans-serif';
const STYLE = `
text { fill: #374151; }
.title { font-size: 17px; font-weight: 600; fill: #111827; }
.sub { font-size: 12px; fill: #6b7280; }
.tick, .legend, .caption, .note { font-size: 11.5px; fill: #4b5563; }
.ctx { font-size: 11px; fill: #6b7280; font-weight: 600; }
.caption { font-weight: 600; }
.note { fill: #b91c1c; }
.grid { stroke: #eceef1; stroke-width: 1; }
.frame { fill: none; stroke: #c9ced6; stroke-width: 1; }
.window { fill: #fbbf24; fill-opacity: 0.22; }
.band { fill: #93c5fd; fill-opacity: 0.45; stroke: none; }
.line { fill: none; stroke-linejoin: round; stroke-linecap: round; }
.edge { stroke: #60a5fa; stroke-opacity: 0.7; stroke-width: 0.6; }
.yhat { stroke: #ea580c; stroke-width: 1.2; }
.y { stroke: #1e293b; stroke-width: 0.9; }
.score { stroke: #7c3aed; stroke-width: 0.9; }
.threshold { stroke: #dc2626; stroke-width: 1; stroke-dasharray: 6 4; }
.mark { fill: #dc2626; stroke: #ffffff; stroke-width: 0.8; }
.legend-items .line { stroke-width: 2.2; }
`;

/** Renders the picture; see PlotInput. */
export function renderPlot(p: PlotInput): string {
  const W = p.width ?? 1200;
  const H = p.height ?? 700;
  const n = p.ts.length;
  const threshold = p.threshold ?? 1;
  const windows = p.windows ?? [];

  // Time domain.
  let t0 = Infinity;
  let t1 = -Infinity;
  for (let i = 0; i < n; i++) {
    const t = p.ts[i];
    if (t < t0) t0 = t;
    if (t > t1) t1 = t;
  }
  if (!(t0 <= t1)) t0 = t1 = 0;
  const first = t0;
  const last = t1;
  if (t1 - t0 <= 0) {
    t0 -= 30_000;
    t1 += 30_000;
  }

  // Panels (top to bottom): header, values, score, time labels.
  const top = 72;
  const bottom = H - 48;
  const gap = 26;
  const scoreH = Math.round((bottom - top - gap) * 0.28);
  const vBottom = bottom - scoreH - gap;
  const sTop = bottom - scoreH;

  const vAxisTicks = valueDomain(p, vBottom - top);
  const vFmt = siFormatter(Math.max(Math.abs(vAxisTicks.lo), Math.abs(vAxisTicks.hi)), vAxisTicks.step);
  const vLabels = vAxisTicks.values.map(vFmt);
  const left = Math.max(60, 16 + Math.ceil(6.6 * Math.max(...vLabels.map((l) => l.length), 4)));
  const right = W - 24;
  const pw = right - left;
  const vAxis = new ValueAxis(vAxisTicks.lo, vAxisTicks.hi, vBottom, top);
  const s = scoreScale(p.score, sTop, bottom);
  const xOf = (t: number): number => left + ((t - t0) / (t1 - t0)) * pw;
  const colOf = (t: number): number => {
    const c = Math.floor(((t - t0) / (t1 - t0)) * pw);
    return c < 0 ? 0 : c >= pw ? pw - 1 : c;
  };
  const cols: Columns = { ts: p.ts, xOf, colOf, gapMs: gapMs(p.ts, t1 - t0) };

  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:as="${PLOT_NS}" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
      `font-family="${FONT}" as:n="${n}" as:t0="${t0}" as:t1="${t1}" as:x0="${left}" as:x1="${right}" as:threshold="${threshold}">`,
  );
  out.push(`<title>${esc(p.title)}</title>`);
  out.push(`<style type="text/css"><![CDATA[${STYLE}]]></style>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);

  // Marks: rows strictly above the threshold.
  const above: number[] = [];
  for (let i = 0; i < n; i++) if (p.score[i] > threshold) above.push(i);

  // Header: title, a line of facts, legend.
  const legendItems: Array<[string, string]> = [
    ['y', 'y'],
    ['yhat', 'yhat'],
    ['band', 'yhat_lower … yhat_upper'],
    ['mark', `score > ${threshold}`],
  ];
  if (windows.length > 0) legendItems.push(['window', 'labelled window']);
  const legendW = legendItems.reduce((w, [, label]) => w + legendStep(label), 0);
  const titleRoom = Math.max(10, Math.floor((right - legendW - left - 24) / 9.6));
  const shown = p.title.length > titleRoom ? p.title.slice(0, titleRoom - 1) + '…' : p.title;
  out.push(`<text class="title" x="${left}" y="30">${esc(shown)}</text>`);
  const facts = [`${n.toLocaleString('en-US')} point${n === 1 ? '' : 's'}`, n > 0 ? `${formatTime(first)} – ${formatTime(last)} UTC` : 'no data'];
  facts.push(`${above.length.toLocaleString('en-US')} scored above ${threshold}`);
  if (windows.length > 0) facts.push(`${windows.length} labelled window${windows.length === 1 ? '' : 's'}`);
  if (vAxisTicks.bandClipped) facts.push('band clipped at the panel edge');
  out.push(`<text class="sub" x="${left}" y="52">${esc(facts.join('  ·  '))}</text>`);
  out.push(legend(legendItems, right - legendW, 30));

  // Values panel.
  out.push(panelOpen('values', vAxis));
  out.push(frame(left, top, pw, vBottom - top, windows, xOf, t0, t1));
  out.push(grid(vAxis, vAxisTicks.values, vLabels, left, right));
  out.push(`<path class="band" d="${bandPath(cols, p.lower, p.upper, vAxis)}"/>`);
  out.push(`<path class="line edge" as:series="yhat_lower" d="${linePath(cols, p.lower, vAxis)}"/>`);
  out.push(`<path class="line edge" as:series="yhat_upper" d="${linePath(cols, p.upper, vAxis)}"/>`);
  out.push(`<path class="line yhat" as:series="yhat" d="${linePath(cols, p.yhat, vAxis)}"/>`);
  out.push(`<path class="line y" as:series="y" d="${linePath(cols, p.y, vAxis)}"/>`);
  out.push(marks(above, p.y, cols, vAxis, 3.2, false));
  out.push('</g>');

  // Score panel.
  out.push(panelOpen('score', s.axis));
  out.push(frame(left, sTop, pw, bottom - sTop, windows, xOf, t0, t1));
  out.push(grid(s.axis, s.ticks, s.ticks.map(s.fmt), left, right));
  out.push(`<text class="caption" x="${left}" y="${sTop - 6}">anomaly_score</text>`);
  const ty = r1(s.axis.pix(threshold));
  out.push(`<line class="threshold" as:v="${threshold}" x1="${left}" y1="${ty}" x2="${right}" y2="${ty}"/>`);
  out.push(`<path class="line score" as:series="anomaly_score" d="${linePath(cols, p.score, s.axis)}"/>`);
  out.push(marks(above, p.score, cols, s.axis, 2.4, true));
  if (s.clipped > 0) {
    const note = `▲ ${s.clipped} score${s.clipped === 1 ? '' : 's'} above ${compact(s.axis.hi)} drawn at the top edge (largest ${compact(s.max)})`;
    out.push(`<text class="note" x="${right - 6}" y="${sTop + 14}" text-anchor="end">${esc(note)}</text>`);
  }
  out.push('</g>');

  // Time axis: grid lines through both panels, labels under the score panel.
  out.push(`<g class="xticks">`);
  for (const tk of timeTicks(t0, t1, Math.max(2, Math.floor(pw / 110)))) {
    const x = r1(xOf(tk.t));
    const half = 3.2 * Math.max(tk.label.length, tk.context.length);
    const anchor = x + half > W - 2 ? 'end' : x - half < 2 ? 'start' : 'middle';
    out.push(`<g class="xtick" as:t="${tk.t}">`);
    out.push(`<line class="grid" x1="${x}" y1="${top}" x2="${x}" y2="${vBottom}"/><line class="grid" x1="${x}" y1="${sTop}" x2="${x}" y2="${bottom + 4}"/>`);
    out.push(`<text class="tick" x="${x}" y="${bottom + 17}" text-anchor="${anchor}">${tk.label}</text>`);
    if (tk.context) out.push(`<text class="ctx" x="${x}" y="${bottom + 32}" text-anchor="${anchor}">${tk.context}</text>`);
    out.push('</g>');
  }
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}

interface Domain {
  lo: number;
  hi: number;
  step: number;
  values: number[];
  bandClipped: boolean;
}

/**
 * The values panel's domain: y and yhat always fit; the band extends it by at most the span of
 * y and yhat on each side (a band far wider than the data would flatten the data to a line) and
 * is clamped at the panel edge beyond that. A flat series gets a span from its band, or ±5%
 * of its value (±1 at 0). Then 3% of the span added at each end; ticks at 1-2-5 multiples inside.
 */
function valueDomain(p: PlotInput, heightPx: number): Domain {
  const [ylo, yhi] = extent(p.y, extent(p.yhat, [Infinity, -Infinity]));
  const [blo, bhi] = extent(p.lower, extent(p.upper, [Infinity, -Infinity]));
  let lo0 = ylo;
  let hi0 = yhi;
  if (!(lo0 <= hi0)) [lo0, hi0] = blo <= bhi ? [blo, bhi] : [0, 1];
  let span = hi0 / 2 - lo0 / 2;
  if (span <= Math.max(Math.abs(hi0), Math.abs(lo0)) * 1e-12) {
    span = Math.max(lo0 - blo, bhi - hi0, 0) / 2;
    if (!(span > Math.abs(lo0) * 1e-9)) span = (lo0 === 0 ? 1 : Math.abs(lo0) * 0.05) / 2;
    [lo0, hi0] = [lo0 - span, hi0 + span];
  }
  // span is half the extent: the band may add up to 2 * span on each side.
  const lo = Math.min(lo0, Math.max(blo, lo0 - 2 * span));
  const hi = Math.max(hi0, Math.min(bhi, hi0 + 2 * span));
  const pad = hi / 2 - lo / 2 > 0 ? (hi / 2 - lo / 2) * 0.06 : 0;
  const t = innerTicks(lo - pad, hi + pad, Math.max(3, Math.min(8, Math.floor(heightPx / 55))));
  return { ...t, bandClipped: blo < t.lo || bhi > t.hi };
}

function extent(v: ArrayLike<number>, into: [number, number]): [number, number] {
  let [lo, hi] = into;
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (!Number.isFinite(x)) continue;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

interface ScoreScale {
  axis: ValueAxis;
  ticks: number[];
  fmt: (v: number) => string;
  clipped: number;
  max: number;
}

function scoreScale(score: ArrayLike<number>, px1: number, px0: number): ScoreScale {
  let m = 0;
  for (let i = 0; i < score.length; i++) if (score[i] > m) m = score[i];
  if (m <= LINEAR_SCORE_MAX) {
    const t = linearTicks(0, Math.max(m * 1.06, 2), 4); // headroom: a mark is never cut by the frame
    return { axis: new ValueAxis(0, t.hi, px0, px1), ticks: t.values, fmt: siFormatter(t.hi, t.step), clipped: 0, max: m };
  }
  const decades = Math.min(Math.ceil(Math.log10(m * 1.06)), Math.log10(SCORE_CAP));
  const hi = 10 ** decades;
  const ticks = [0, 0.5, 1];
  for (let d = 1; d <= decades; d++) ticks.push(10 ** d);
  let clipped = 0;
  for (let i = 0; i < score.length; i++) if (score[i] > hi) clipped++;
  const axis = new ValueAxis(0, hi, px0, px1, 1, 1 / (decades + 1));
  return { axis, ticks, fmt: compact, clipped, max: m };
}

/** `<g class="panel">` with its axis as attributes. */
function panelOpen(id: string, a: ValueAxis): string {
  const log = Number.isFinite(a.logFrom) ? ` as:log-from="${a.logFrom}" as:linear-share="${a.linearShare}"` : '';
  return `<g class="panel" id="${id}" as:lo="${a.lo}" as:hi="${a.hi}" as:px0="${a.px0}" as:px1="${a.px1}"${log}>`;
}

/** The plot area's frame and the labelled windows (clipped to the time range). */
function frame(x: number, y: number, w: number, h: number, windows: ReadonlyArray<readonly [number, number]>, xOf: (t: number) => number, t0: number, t1: number): string {
  const out = [`<rect class="frame" x="${x}" y="${y}" width="${w}" height="${h}"/>`];
  for (const [a, b] of windows) {
    if (b < t0 || a > t1) continue;
    const xa = r1(xOf(Math.max(a, t0)));
    const xb = r1(xOf(Math.min(b, t1)));
    out.push(`<rect class="window" as:start="${a}" as:end="${b}" x="${xa}" y="${y}" width="${r1(Math.max(xb - xa, 1))}" height="${h}"/>`);
  }
  return out.join('\n');
}

/** Horizontal grid lines and value labels at `values`. */
function grid(a: ValueAxis, values: number[], labels: string[], left: number, right: number): string {
  const out: string[] = [];
  for (let k = 0; k < values.length; k++) {
    const y = r1(a.pix(values[k]));
    out.push(`<line class="grid" x1="${left}" y1="${y}" x2="${right}" y2="${y}"/>`);
    out.push(`<text class="tick" as:v="${values[k]}" x="${left - 7}" y="${r1(y + 4)}" text-anchor="end">${labels[k]}</text>`);
  }
  return out.join('\n');
}

/**
 * One circle per pixel column (score panel: at the column's largest score) or per (column, pixel
 * row) (values panel: at y), carrying the indices of the rows it stands for in `as:rows`.
 */
function marks(rows: number[], v: ArrayLike<number>, c: Columns, a: ValueAxis, r: number, perColumn: boolean): string {
  const groups = new Map<string, number[]>();
  for (const i of rows) {
    if (!Number.isFinite(v[i]) && !(v[i] === Infinity)) continue;
    const key = perColumn ? String(c.colOf(c.ts[i])) : `${c.colOf(c.ts[i])}:${Math.round(a.pix(v[i]))}`;
    const g = groups.get(key);
    if (g) g.push(i);
    else groups.set(key, [i]);
  }
  const out = [`<g class="marks" as:series="${perColumn ? 'anomaly_score' : 'y'}">`];
  for (const g of groups.values()) {
    let best = g[0];
    for (const i of g) if (v[i] > v[best]) best = i;
    out.push(`<circle class="mark" as:rows="${g.join(',')}" cx="${r1(c.xOf(c.ts[best]))}" cy="${r1(a.pix(v[best]))}" r="${r}"/>`);
  }
  out.push('</g>');
  return out.join('\n');
}

/** Swatch, gap, label, space: the label's width estimated at 6.6 px a character. */
function legendStep(label: string): number {
  return 26 + 6.6 * label.length + 18;
}

function legend(items: Array<[string, string]>, x0: number, y: number): string {
  const out = [`<g class="legend-items">`];
  let x = x0;
  for (const [kind, label] of items) {
    if (kind === 'y' || kind === 'yhat') out.push(`<line class="line ${kind}" x1="${r1(x)}" y1="${y - 4}" x2="${r1(x + 20)}" y2="${y - 4}"/>`);
    else if (kind === 'band') out.push(`<rect class="band" x="${r1(x)}" y="${y - 10}" width="20" height="12"/>`);
    else if (kind === 'window') out.push(`<rect class="window" x="${r1(x)}" y="${y - 10}" width="20" height="12"/>`);
    else out.push(`<circle class="mark" cx="${r1(x + 10)}" cy="${y - 4}" r="3.2"/>`);
    out.push(`<text class="legend" x="${r1(x + 26)}" y="${y}">${esc(label)}</text>`);
    x += legendStep(label);
  }
  out.push('</g>');
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch] as string);
}
