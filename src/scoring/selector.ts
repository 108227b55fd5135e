import { RE2JS } from 're2js';
import { SelectorError } from '../errors.js';

// Prometheus series selectors, parsed and compiled once at start-up:
//   metric{label="v", other!="w", re=~"a.*", nre!~"b|c"}   {__name__=~"node_.*"}
// A missing label matches as "". Matching runs once per new series (the series index caches
// the result), never per sample.
//
// Regexes have RE2's syntax and semantics, as in Prometheus and VictoriaMetrics (Go's regexp):
// fully anchored, `.` matching newlines too (Prometheus compiles `^(?s:<re>)$`), linear time in
// the input. The engine is re2js (a pure JavaScript port of RE2/J, no native build): JavaScript's
// own RegExp backtracks (`.*_(.*)_total` took 1.2 s on a 32 KB metric name, per new series) and
// accepts syntax RE2 rejects (backreferences, lookaround), which would then mean something else
// in VictoriaMetrics. Measured in bench/selector.ts (bench/RESULTS.md): ~0.7-1.7 ms for that
// regex on 32 KB names, ~50-250 ns on ordinary ones.

export type MatchOp = '=' | '!=' | '=~' | '!~';

/** A compiled regex: does it match the whole of `s`? */
interface Regex {
  matches(s: string): boolean;
}

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  re: Regex | null;
  /**
   * The regex's answers for the values seen last (null: not a regex). A restore matches a
   * million series against the selectors in one go, and the values a regex reads repeat
   * (`__name__=~"node_.*"`: a few hundred metric names): RE2 once per distinct value, not per
   * series. Bounded: values up to MEMO_CHARS long, cleared at MEMO_MAX of them.
   */
  memo: Map<string, boolean> | null;
}

export interface Selector {
  text: string;
  matchers: Matcher[];
}

// Metric and label names as MetricsQL (vmanomaly's query language) reads them: a letter (any
// script), '_' or ':' first, then digits and '.' too, and any character after a backslash
// (`\xHH`, `\uHHHH`, or the character itself). VictoriaMetrics keeps OpenTelemetry's dotted names
// (`system.cpu.utilization`) and Graphite's, so a vmanomaly query such as
// `system.cpu.utilization{host.name="a"}` is a plain selector there; Prometheus' [a-zA-Z_:] alone
// rejected it. Prometheus 3's quoted names (`{"system.cpu.utilization", "host.name"="a"}`) are read
// too.
const IDENT_FIRST = /[\p{L}_:]/uy;
const IDENT_REST = /[\p{L}_:0-9.]*/uy;
const ESCAPE = /\\(?:[xX]([0-9a-fA-F]{2})|[uU]([0-9a-fA-F]{4})|(\P{Cc}))/uy;
const SPACE = /\s*/y;

/** A UTF-16 surrogate not part of a pair (in a `u` regex a pair is one code point, not Cs). */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * What is wrong with `name` as a label name, or null when VictoriaMetrics stores it as it is. The
 * one definition of a label name for selectors and every config key naming labels. VictoriaMetrics
 * and vmagent take any bytes (OpenTelemetry's `host.name`, `température`, `a-b`; vmagent 1.79.5's
 * relabeling loads any source_labels), and Prometheus 3 any UTF-8, so only two are refused: the
 * empty name, which VictoriaMetrics reads as the metric name (an import with `"": "x"` stores
 * metric `x`), and a lone surrogate (a `\uD800` escape), which has no UTF-8 form and could never
 * equal a name on the wire.
 */
export function labelNameProblem(name: string): string | null {
  if (name === '') return "expected a label name, got '' (VictoriaMetrics reads an empty label name as the metric name)";
  if (LONE_SURROGATE.test(name)) return `label name ${JSON.stringify(name)} holds a lone UTF-16 surrogate, which has no UTF-8 form`;
  return null;
}

const NAME_FIRST = /^[\p{L}_:]$/u;
const NAME_REST = /^[\p{L}_:0-9.]$/u;
const CONTROL = /^\p{Cc}$/u;

/**
 * `name` written as a MetricsQL identifier, which parseSelector reads back as `name`: for the
 * selectors of the status page's vmui links. Letters, '_', ':' (and digits, '.' after the first)
 * as they are, a control character as `\xHH`, anything else after a backslash (`a\-b`, `\1st`).
 * VictoriaMetrics 1.79.5 reads these for ASCII names (checked: `{host.name="h"}`, `{a\-b="x"}`,
 * `{\1st="o"}`, `{sp\ ace="s"}`); non-ASCII letters need a newer MetricsQL.
 */
export function identifierOf(name: string): string {
  let out = '';
  for (const ch of name) {
    if ((out === '' ? NAME_FIRST : NAME_REST).test(ch)) out += ch;
    else if (CONTROL.test(ch)) out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += `\\${ch}`;
  }
  return out;
}

/** Replacements for MetricsQL a series selector cannot express (vmanomaly queries often hold them). */
const FUNCTION_HINTS: Record<string, string> = {
  rate: 'use the selector alone with `transform: rate` (anomstream sees raw samples; no query runs)',
  irate: 'use the selector alone with `transform: rate`',
  increase: 'use the selector alone with `transform: increase`',
  deriv: 'use the selector alone with `transform: rate`',
};

export function parseSelector(text: string): Selector {
  let p = 0;
  const src = text;
  const ws = (): void => {
    SPACE.lastIndex = p;
    SPACE.test(src);
    p = SPACE.lastIndex;
  };
  const take = (re: RegExp): string | null => {
    re.lastIndex = p;
    const m = re.exec(src);
    if (!m) return null;
    p = re.lastIndex;
    return m[0];
  };
  const fail = (what: string): never => {
    throw new SelectorError('ANOM_SELECTOR_SYNTAX', `${what} at offset ${p} in selector '${text}'`);
  };
  /** A MetricsQL identifier at `p`, unescaped; null when none starts there. */
  const ident = (): string | null => {
    let out = '';
    for (;;) {
      ESCAPE.lastIndex = p;
      const e = ESCAPE.exec(src);
      if (e) {
        out += e[3] ?? String.fromCharCode(parseInt(e[1] ?? e[2], 16));
        p = ESCAPE.lastIndex;
        continue;
      }
      const part = take(out === '' ? IDENT_FIRST : IDENT_REST);
      if (part === null || part === '') return out === '' ? null : out;
      out += part;
    }
  };
  const matchers: Matcher[] = [];
  ws();
  const metric = ident();
  ws();
  if (metric !== null && src[p] === '(') {
    const hint = FUNCTION_HINTS[metric] ?? 'anomstream matches series selectors only; aggregate or transform upstream (e.g. vmagent stream aggregation) or use `transform`';
    throw new SelectorError('ANOM_SELECTOR_FUNCTION', `'${metric}(...)' is a MetricsQL function, not a series selector: ${hint}`);
  }
  if (metric !== null) matchers.push(compile('__name__', '=', metric));
  if (src[p] === '{') {
    p++;
    ws();
    while (src[p] !== '}') {
      const quoted = src[p] === '"' || src[p] === "'" || src[p] === '`';
      const name = quoted ? str() : (ident() ?? fail('expected a label name'));
      ws();
      if (quoted && (src[p] === ',' || src[p] === '}')) {
        // Prometheus 3: a quoted name alone in the braces is the metric name.
        matchers.push(compile('__name__', '=', name));
        if (src[p] === ',') p++;
        ws();
        continue;
      }
      const bad = labelNameProblem(name);
      if (bad !== null) fail(bad);
      const op = (['=~', '!~', '!=', '='] as const).find((o) => src.startsWith(o, p)) ?? fail(`expected =, !=, =~ or !~ after '${name}'`);
      p += op.length;
      ws();
      const value = str();
      matchers.push(compile(name, op, value));
      ws();
      if (src[p] === ',') {
        p++;
        ws();
      } else if (src[p] !== '}') fail("expected ',' or '}'");
    }
    p++;
    ws();
  }
  if (p !== src.length) fail('unexpected text');
  if (matchers.length === 0) throw new SelectorError('ANOM_SELECTOR_EMPTY', `selector '${text}' is empty`);
  if (matchers.every((m) => matchesValue(m, ''))) {
    throw new SelectorError('ANOM_SELECTOR_EMPTY', `selector '${text}' must contain at least one matcher that does not match the empty string`);
  }
  return { text, matchers };

  function str(): string {
    const q = src[p];
    if (q !== '"' && q !== "'" && q !== '`') return fail('expected a quoted string');
    let out = '';
    p++;
    while (p < src.length && src[p] !== q) {
      let c = src[p++];
      if (c === '\\' && q !== '`') {
        const e = src[p++];
        c = e === 'n' ? '\n' : e === 't' ? '\t' : e === 'r' ? '\r' : e === '\\' ? '\\' : e === q ? q : '\\' + e;
      }
      out += c;
    }
    if (src[p] !== q) fail('unterminated string');
    p++;
    return out;
  }
}

function compile(name: string, op: MatchOp, value: string): Matcher {
  let re: Regex | null = null;
  if (op === '=~' || op === '!~') {
    try {
      // matches() is a full match (anchored at both ends), as Prometheus' ^(?s:...)$.
      re = RE2JS.compile(`(?s:${value})`);
    } catch (e) {
      throw new SelectorError('ANOM_SELECTOR_REGEX', `label '${name}': invalid regex '${value}' (RE2 syntax, as in Prometheus and VictoriaMetrics): ${(e as Error).message}`);
    }
  }
  return { name, op, value, re, memo: re === null ? null : new Map() };
}

/** Does matcher `m` accept the label value `v` ("" for a missing label)? */
export function matchesValue(m: Matcher, v: string): boolean {
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return regexMatches(m, v);
    case '!~':
      return !regexMatches(m, v);
  }
}

/** Values whose regex answer a matcher keeps, and the longest it keeps. */
const MEMO_MAX = 4096;
const MEMO_CHARS = 256;

function regexMatches(m: Matcher, v: string): boolean {
  if (v.length > MEMO_CHARS) return m.re!.matches(v);
  const memo = m.memo!;
  let r = memo.get(v);
  if (r === undefined) {
    r = m.re!.matches(v);
    if (memo.size >= MEMO_MAX) memo.clear();
    memo.set(v, r);
  }
  return r;
}

/** Does a series with these labels match? `labels` maps name -> value. */
export function matches(sel: Selector, labels: Map<string, string>): boolean {
  for (const m of sel.matchers) if (!matchesValue(m, labels.get(m.name) ?? '')) return false;
  return true;
}
