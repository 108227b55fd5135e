import { pino, type Logger } from 'pino';

/**
 * The process logger: pino, in one of two formats (`--log-format`, `logging.format`):
 *   json  one JSON object per line, pino's own (default; what log pipelines parse)
 *   text  for a person, as vmagent's default format:
 *         2026-12-03T10:00:00.000Z info  anomstream listening listen=127.0.0.1:8490 queries=["cpu"]
 *         time (UTC, ISO 8601), level, message, then the fields as key=value: nested maps as
 *         dotted keys (datasource.url=...), lists and values with spaces, quotes or '=' as JSON.
 * Text lines are re-formatted from pino's JSON (a dozen lines of code instead of pino-pretty
 * and its dependencies); log lines are rare (throttled), so the JSON.parse per line is no cost.
 */
export type LogFormat = 'json' | 'text';

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export function createLogger(level: string, format: LogFormat, out: { write(s: string): unknown } = process.stdout): Logger {
  if (format === 'json') return out === process.stdout ? pino({ level, base: { app: 'anomstream' } }) : pino({ level, base: { app: 'anomstream' } }, out as NodeJS.WritableStream);
  return pino({ level, base: undefined }, { write: (line: string) => out.write(textLine(line)) });
}

/** One pino JSON line as a text line. */
export function textLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, ...fields } = o;
  const t = typeof time === 'number' ? new Date(time).toISOString() : String(time);
  let s = `${t} ${(LEVELS[level as number] ?? String(level)).padEnd(5)} ${msg === undefined ? '' : String(msg)}`;
  for (const [k, v] of flat(fields, '')) s += ` ${k}=${value(v)}`;
  return s + '\n';
}

/** Nested maps as dotted keys (datasource.url=...), so a line stays readable. */
function* flat(o: Record<string, unknown>, prefix: string): Generator<[string, unknown]> {
  for (const [k, v] of Object.entries(o)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && k !== 'err') yield* flat(v as Record<string, unknown>, `${prefix}${k}.`);
    else yield [prefix + k, v];
  }
}

function value(v: unknown): string {
  if (typeof v === 'string') return v !== '' && !/[\s"=]/.test(v) ? v : JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return JSON.stringify(v);
}
