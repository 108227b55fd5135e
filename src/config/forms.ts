import { z } from 'zod';

/**
 * vmanomaly 1.30's value forms of the scoring keys, as zod pieces that output one internal
 * form (reference: docs/anomaly-detection/components/models.md and reader.md):
 *
 *   data_range: [0, 'inf']        bounds are numbers, YAML's .inf, or the strings 'inf', '-inf',
 *                                 '+inf' (Python's float() spellings) and numeric strings -> [low, high]
 *   min_dev_from_expected: 5      a number, [n] or [lower, upper] -> [lower, upper]
 *   min_rel_dev_from_expected     the same, in percent of |yhat| (vmanomaly: `[20, 40]` = 20 % / 40 %)
 *   scale: 1.5                    the same, positive -> [lower, upper]
 *
 * "lower" applies when y < yhat, "upper" when y > yhat (vmanomaly's order).
 */

const INF: Record<string, number> = { inf: Infinity, '+inf': Infinity, '-inf': -Infinity, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity };

/** A number (±Infinity allowed) from a YAML number or vmanomaly's string spellings; null if not one. */
function bound(v: unknown): number | null {
  if (typeof v === 'number' && !Number.isNaN(v)) return v;
  if (typeof v !== 'string') return null;
  const t = v.trim().toLowerCase();
  if (t in INF) return INF[t];
  const n = t === '' ? NaN : Number(t);
  return Number.isFinite(n) ? n : null;
}

/** data_range: [low, high] with low <= high; bounds as numbers, .inf or 'inf' / '-inf' strings. */
export const dataRange = z.unknown().transform((v, ctx): [number, number] => {
  const lo = Array.isArray(v) && v.length === 2 ? bound(v[0]) : null;
  const hi = Array.isArray(v) && v.length === 2 ? bound(v[1]) : null;
  if (lo === null || hi === null || lo > hi) {
    ctx.addIssue({ code: 'custom', message: `expected [low, high] with low <= high, numbers or 'inf' / '-inf' (e.g. [0, 'inf']), got ${show(v)}` });
    return z.NEVER;
  }
  return [lo, hi];
});

/**
 * A one- or two-sided setting: a number, [n] or [lower, upper], each >= min (or > min when
 * `exclusive`), returned as [lower, upper].
 */
export function twoSided(min: number, exclusive: boolean, what: string) {
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && (exclusive ? n > min : n >= min);
  return z.unknown().transform((v, ctx): [number, number] => {
    const pair = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 1 ? [v[0], v[0]] : Array.isArray(v) && v.length === 2 ? v : null;
    if (pair === null || !ok(pair[0]) || !ok(pair[1])) {
      ctx.addIssue({ code: 'custom', message: `expected ${what} ${exclusive ? '>' : '>='} ${min}, or [lower, upper] (below and above yhat), got ${show(v)}` });
      return z.NEVER;
    }
    return [pair[0], pair[1]];
  });
}

/** A value as a message shows it: YAML-ish, short. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'string') return `'${v.length > 80 ? v.slice(0, 77) + '...' : v}'`;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length <= 4 ? `[${v.map(show).join(', ')}]` : `a list of ${v.length} items`;
  return `a map (${Object.keys(v as object)
    .slice(0, 4)
    .join(', ')}${Object.keys(v as object).length > 4 ? ', ...' : ''})`;
}
