import type { z } from 'zod';
import { show } from './forms.js';

/**
 * Configuration problems as people read them: one line each, `path: what is expected there`,
 * never a bare validation-library phrase ("Invalid input", "expected record, received
 * undefined"). Every stage of loading (environment placeholders, vmanomaly forms, the schema,
 * files the config names) reports Issues; load.ts prints all of them at once.
 */
export interface Issue {
  path: PropertyKey[];
  message: string;
}

/**
 * `writer.tenant_id`, `models.fast.queries[0]`; '(root)' for the whole file. A key a dot would
 * misread (a label name such as `service.name`, or '') is written `writer.metric_format["service.name"]`.
 */
export function joinPath(path: readonly PropertyKey[]): string {
  const key = (k: PropertyKey): string => (typeof k === 'string' && (k === '' || /[.[\]"\s]/.test(k)) ? `[${JSON.stringify(k)}]` : String(k));
  const s = path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc && !key(k).startsWith('[') ? `${acc}.${key(k)}` : `${acc}${key(k)}`), '');
  return s || '(root)';
}

/** One line per issue; a message is never more than one line. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues.map((i) => `${joinPath(i.path)}: ${i.message.replace(/\s*\n\s*/g, ' ')}`).join('\n');
}

/** The issues of `later` that are not at or under a path of `reported`. */
export function notUnder(reported: readonly Issue[], later: readonly Issue[]): Issue[] {
  const seen = reported.map((i) => joinPath(i.path));
  const under = (p: string): boolean => seen.some((s) => p === s || p.startsWith(s + '.') || p.startsWith(s + '['));
  return later.filter((i) => !under(joinPath(i.path)));
}

// ---------------------------------------------------------------------------------------------
// did you mean

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `word` when close enough to be a typo (case and `-`/`_` ignored), else undefined. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_.\s]/g, '');
  const w = norm(word);
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = norm(c) === w ? 0 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) [best, bestD] = [c, d];
  }
  const limit = word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
  return bestD <= limit ? best : undefined;
}

// ---------------------------------------------------------------------------------------------
// zod issues -> Issues

/** What a section looks like, for "missing" and wrong-type messages ('*' = any alias). */
const EXPECTED: Record<string, string> = {
  '': "a map with reader: and writer: sections, e.g. reader: { queries: { cpu: 'node_load1' } } and writer: { datasource_url: 'http://127.0.0.1:8428' }",
  reader: "reader: { queries: { <alias>: '<series selector>' } }",
  'reader.queries': 'a map of alias: series selector, e.g. queries: { cpu: \'node_load1{job="node"}\' }',
  'reader.queries.*': "a series selector such as 'node_load1{job=\"node\"}', or { expr: '<selector>', transform: rate }",
  'reader.queries.*.expr': 'a series selector such as \'node_load1{job="node"}\'',
  writer: "writer: { datasource_url: 'http://127.0.0.1:8428' } (the base URL of VictoriaMetrics)",
  'writer.datasource_url': "the base URL of VictoriaMetrics, vminsert, vmagent or vmauth, e.g. 'http://127.0.0.1:8428'",
  models: 'a map of alias: model, e.g. models: { fast: { class: zscore_online } }',
  'models.*': 'a model: { class: <class>, queries: [<alias>, ...], ... }',
  'models.*.queries': 'a list of query aliases, e.g. [cpu, disk]',
  server: "server: { listen: '127.0.0.1:8490' }",
  'server.listen': "'host:port' (e.g. '127.0.0.1:8490', ':8490' for every interface)",
  limits: 'limits: { max_series: 2000000, series_idle_timeout: 1h }',
  logging: 'logging: { level: info, format: json }',
};

/** Keys whose values are never shown in a message. */
const SECRET = /(^|\.)(password|bearer_token)$/;

const TYPE_NAMES: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  tuple: 'a list',
  object: 'a map of settings',
  record: 'a map (key: value)',
  map: 'a map (key: value)',
  null: 'null',
};

interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  input?: unknown;
  expected?: string;
  values?: unknown[];
  keys?: string[];
  issues?: ZodIssueLike[];
  errors?: ZodIssueLike[][];
  note?: string;
  options?: unknown[];
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  format?: string;
}

/** Translates zod's issues for `input` (validated by `schema`) into Issues. */
export function fromZod(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, input: unknown): Issue[] {
  const out: Issue[] = [];
  for (const i of issues as unknown as ZodIssueLike[]) one(i, [], out, schema, input);
  return out;
}

function one(i: ZodIssueLike, prefix: PropertyKey[], out: Issue[], schema: z.ZodType, input: unknown): void {
  const path = [...prefix, ...i.path];
  const at = 'input' in i && i.input !== undefined ? i.input : valueAt(input, path);
  const shown = SECRET.test(joinPath(path)) ? 'a value (not shown)' : show(at);
  const expected = EXPECTED[pattern(path)];
  const push = (message: string, p: PropertyKey[] = path): void => void out.push({ path: p, message });
  switch (i.code) {
    case 'unrecognized_keys': {
      const valid = keysAt(schema, path, input);
      for (const k of i.keys ?? []) {
        const guess = didYouMean(k, valid);
        // At the top, a key of a section written without its section (metric_format: instead of writer.metric_format:).
        const home = path.length === 0 && !guess ? valid.find((section) => keysAt(schema, [section], undefined).includes(k)) : undefined;
        push(guess ? `unknown key: did you mean '${guess}'?` : home ? `unknown key here: write it under ${home}: (${home}.${k})` : `unknown key: expected one of ${valid.join(', ')}`, [...path, k]);
      }
      return;
    }
    case 'invalid_key':
      // A record key (an alias, a label name) that fails its pattern: its own message says why.
      for (const inner of i.issues ?? []) push(`'${String(path[path.length - 1])}' is not allowed here: ${humanize(inner.message) ?? 'expected a different name'}`);
      return;
    case 'invalid_union': {
      if (i.note === 'No matching discriminator') {
        const opts = (i.options ?? []).map(String);
        const guess = typeof at === 'string' ? didYouMean(at, opts) : undefined;
        return push(`expected one of ${opts.join(', ')}${guess ? ` (did you mean '${guess}'?)` : ''}, got ${shown}`);
      }
      const branches = i.errors ?? [];
      const flat = branches.every((b) => b.length === 1 && b[0].path.length === 0 && b[0].code === 'invalid_type');
      if (flat && branches.length > 0) {
        const names = [...new Set(branches.map((b) => TYPE_NAMES[b[0].expected ?? ''] ?? `a ${b[0].expected}`))];
        return push(`expected ${expected ?? names.join(' or ')}, got ${shown}`);
      }
      // Otherwise the branch that got furthest (fewest issues) says what is wrong.
      const best = [...branches].sort((a, b) => a.length - b.length)[0] ?? [];
      if (best.length === 0) return push(`expected ${expected ?? 'a different value'}, got ${shown}`);
      for (const b of best) one(b, path, out, schema, input);
      return;
    }
    case 'invalid_type': {
      const want = expected ?? TYPE_NAMES[i.expected ?? ''] ?? `a ${i.expected}`;
      if (path.length === 0 && at == null) return push(`the file is empty: expected ${want}`);
      return push(at === undefined ? `missing: expected ${want}` : `expected ${want}, got ${shown}`);
    }
    case 'invalid_value': {
      const opts = (i.values ?? []).map((v) => String(v));
      const guess = typeof at === 'string' ? didYouMean(at, opts) : undefined;
      const list = opts.length === 1 ? `'${opts[0]}'` : `one of ${opts.join(', ')}`;
      return push(`expected ${list}${guess ? ` (did you mean '${guess}'?)` : ''}, got ${shown}`);
    }
    case 'too_small':
    case 'too_big': {
      const small = i.code === 'too_small';
      const n = Number(small ? i.minimum : i.maximum);
      const op = small ? (i.inclusive ? '>=' : '>') : i.inclusive ? '<=' : '<';
      if (i.origin === 'array' || i.origin === 'set') return push(`expected ${small ? 'at least' : 'at most'} ${n} item${n === 1 ? '' : 's'}, got ${shown}`);
      if (i.origin === 'string') return push(small && n === 1 ? 'expected a non-empty string' : `expected ${small ? 'at least' : 'at most'} ${n} characters, got ${shown}`);
      return push(`expected a number ${op} ${n}, got ${shown}`);
    }
    case 'invalid_format':
      return push(`${humanize(i.message) ?? `expected ${expected ?? `a ${i.format}`}`}${/got /.test(i.message) ? '' : `, got ${shown}`}`);
    case 'not_multiple_of':
      return push(`expected a multiple of ${String((i as { divisor?: unknown }).divisor)}, got ${shown}`);
    default:
      return push(humanize(i.message) ?? `expected ${expected ?? 'a different value'}, got ${shown}`);
  }
}

/** Our own messages pass; zod's stock phrases ("Invalid input", "Too small: ...") do not. */
function humanize(message: string): string | undefined {
  return /^(Invalid|Too (small|big)|Unrecognized|Expected |Required)/.test(message) ? undefined : message;
}

/** The EXPECTED key of a path: aliases (record keys) become '*'. */
function pattern(path: readonly PropertyKey[]): string {
  const p = path.map(String);
  if (p[0] === 'reader' && p[1] === 'queries' && p.length > 2) p[2] = '*';
  if (p[0] === 'models' && p.length > 1) p[1] = '*';
  return p.join('.');
}

export function valueAt(v: unknown, path: readonly PropertyKey[]): unknown {
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

// ---------------------------------------------------------------------------------------------
// the keys a schema allows at a path (for did-you-mean)

interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  shape?: Record<string, Schema>;
  valueType?: Schema;
  element?: Schema;
  options?: Schema[];
  discriminator?: string;
  values?: unknown[];
  getter?: () => Schema;
}
interface Schema {
  _zod: { def: Def };
}

/** Through optional/default/pipe wrappers to the schema that holds the structure. */
function unwrap(s: Schema | undefined): Schema | undefined {
  for (let n = 0; s && n < 20; n++) {
    const d = s._zod.def;
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe') s = d.in?._zod.def.type === 'transform' ? d.out : d.in;
    else if (d.type === 'lazy' && d.getter) s = d.getter();
    else return s;
  }
  return s;
}

/** Keys of the object schema at `path` (a discriminated union picks the option `input` names). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[], input: unknown): string[] {
  let s = unwrap(schema as unknown as Schema);
  let v = input;
  let i = 0;
  while (s) {
    const d = s._zod.def;
    if (d.type === 'union' && d.options) {
      const want = d.discriminator && v && typeof v === 'object' ? (v as Record<string, unknown>)[d.discriminator] : undefined;
      const objects = d.options.map(unwrap).filter((o): o is Schema => o?._zod.def.type === 'object');
      s = objects.find((o) => unwrap(o._zod.def.shape?.[d.discriminator ?? ''])?._zod.def.values?.includes(want)) ?? objects[0];
      if (!s) return [];
      continue;
    }
    if (i === path.length) return d.type === 'object' && d.shape ? Object.keys(d.shape) : [];
    const seg = path[i];
    s = unwrap(d.type === 'object' ? d.shape?.[String(seg)] : d.type === 'record' ? d.valueType : d.type === 'array' ? d.element : undefined);
    v = valueAt(v, [seg]);
    i++;
  }
  return [];
}
