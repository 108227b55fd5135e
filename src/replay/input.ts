/**
 * Replay input: a CSV with a header row (`timestamp,value`; timestamps ISO 8601, or Unix
 * seconds / milliseconds) or VictoriaMetrics /api/v1/export JSON lines
 * (`{"metric":{...},"values":[...],"timestamps":[...]}`, one series per line, each replayed
 * as its own series). Bad rows are collected with their line number, never skipped silently.
 */
export interface Series {
  /** Timestamp as written in the input (echoed in the output). */
  stamps: string[];
  ts: Float64Array;
  value: Float64Array;
}

export interface Parsed {
  series: Series[];
  errors: string[];
}

/** ISO 8601 (a missing zone means UTC, as NAB and most exports write it) or Unix s/ms. */
export function parseTimestamp(s: string): number {
  const t = s.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) {
    const n = Number(t);
    return Math.abs(n) >= 1e11 ? n : n * 1000; // 1e11 s is year 5138; 1e11 ms is 1973
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(t)) return NaN;
  let iso = t.replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(iso)) iso += 'T00:00:00';
  if (!/([zZ]|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z';
  return Date.parse(iso);
}

/** A value: a number, or NaN / Inf spelled as Prometheus and Python write them (fed to no model). */
function parseValue(s: string): number {
  const t = s.trim();
  if (t === '') return Number.NaN - 1; // marker handled by caller via isBlank
  const low = t.toLowerCase();
  if (low === 'nan') return NaN;
  if (low === 'inf' || low === '+inf' || low === 'infinity') return Infinity;
  if (low === '-inf' || low === '-infinity') return -Infinity;
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : Number.NaN;
}
function isNumberText(s: string): boolean {
  const t = s.trim().toLowerCase();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) || ['nan', 'inf', '+inf', '-inf', 'infinity', '-infinity'].includes(t);
}

/**
 * One export line. VictoriaMetrics writes ±Inf in `values` as bare `+Inf` / `-Inf` (not JSON),
 * so a line JSON.parse refuses is read again with those (and `NaN`) quoted in its values array.
 */
function parseExportLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch (e) {
    // A string cannot hold `"values":[` unescaped: this is the key, after "metric" as VictoriaMetrics writes it.
    const at = line.lastIndexOf('"values":[');
    const end = at < 0 ? -1 : line.indexOf(']', at);
    if (end < 0) throw e;
    const values = line.slice(at, end).replace(/([[,])\s*([+-]?Inf|NaN)\s*(?=,|$)/g, '$1"$2"');
    try {
      return JSON.parse(line.slice(0, at) + values + line.slice(end));
    } catch {
      throw e;
    }
  }
}

export function parseInput(text: string): Parsed {
  const firstChar = text.trimStart()[0];
  return firstChar === '{' ? parseJsonLines(text) : parseCsv(text);
}

function parseCsv(text: string): Parsed {
  const lines = text.split(/\r?\n/);
  const errors: string[] = [];
  const header = (lines[0] ?? '').split(',').map((h) => h.trim().toLowerCase());
  const tsCol = header.indexOf('timestamp');
  const valCol = header.indexOf('value');
  if (tsCol < 0 || valCol < 0) {
    return { series: [], errors: [`line 1: expected a header row with 'timestamp' and 'value' columns, got '${lines[0] ?? ''}'`] };
  }
  const stamps: string[] = [];
  const ts: number[] = [];
  const value: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cols = lines[i].split(',');
    const stamp = (cols[tsCol] ?? '').trim();
    const t = parseTimestamp(stamp);
    const vt = cols[valCol] ?? '';
    if (!Number.isFinite(t)) errors.push(`line ${i + 1}: expected a timestamp (ISO 8601 or Unix seconds/milliseconds), got '${stamp}'`);
    else if (!isNumberText(vt)) errors.push(`line ${i + 1}: expected a numeric value, got '${vt.trim()}'`);
    else {
      stamps.push(stamp);
      ts.push(t);
      value.push(parseValue(vt));
    }
  }
  return { series: [{ stamps, ts: Float64Array.from(ts), value: Float64Array.from(value) }], errors };
}

function parseJsonLines(text: string): Parsed {
  const lines = text.split(/\r?\n/);
  const errors: string[] = [];
  const series: Series[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    let obj: unknown;
    try {
      obj = parseExportLine(lines[i]);
    } catch (e) {
      errors.push(`line ${i + 1}: expected a JSON object, ${(e as Error).message}`);
      continue;
    }
    const o = obj as { values?: unknown; timestamps?: unknown };
    if (!Array.isArray(o.values) || !Array.isArray(o.timestamps) || o.values.length !== o.timestamps.length) {
      errors.push(`line ${i + 1}: expected {"metric":{...},"values":[...],"timestamps":[...]} with arrays of equal length`);
      continue;
    }
    const n = o.values.length;
    const ts = new Float64Array(n);
    const value = new Float64Array(n);
    const stamps: string[] = [];
    let bad = false;
    for (let k = 0; k < n; k++) {
      const t = o.timestamps[k];
      const v = o.values[k];
      const tn = typeof t === 'number' ? t : NaN;
      // null: a stale marker, as VictoriaMetrics exports it (the series ended): fed to no model, as NaN.
      const vn = typeof v === 'number' ? v : v === null ? NaN : typeof v === 'string' && isNumberText(v) ? parseValue(v) : undefined;
      if (!Number.isFinite(tn) || vn === undefined) {
        errors.push(`line ${i + 1}: sample ${k}: expected a millisecond timestamp and a number, got ${JSON.stringify(t)}, ${JSON.stringify(v)}`);
        bad = true;
        break;
      }
      ts[k] = tn;
      value[k] = vn;
      stamps.push(String(tn));
    }
    if (!bad) series.push({ stamps, ts, value });
  }
  return { series, errors };
}
