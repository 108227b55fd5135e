import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3, w: 604800e3 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;

/** "500ms", "15s", "1h30m", "7d" -> milliseconds; null when not a duration. */
export function parseDurationMs(text: string): number | null {
  if (!WHOLE.test(text)) return null;
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return ms;
}

/** A positive duration string (or a number of seconds, as YAML users write `timeout: 5`), as milliseconds. */
export const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDurationMs(v.trim());
  if (ms === null || !(ms > 0) || !Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: `expected a positive duration such as '500ms', '15s', '1h30m' or '7d', got '${v}'` });
    return z.NEVER;
  }
  return ms;
});
