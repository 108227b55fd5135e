import type { WriteBatch } from '../ingest/write-request.js';
import { sameBytes } from '../wire/bytes.js';
import { hashBytes, type Hash64 } from '../wire/hash.js';
import type { Utf8Strings } from '../wire/strings.js';
import { isName } from '../emit/plans.js';
import { matchesValue, type Matcher, type Selector } from './selector.js';

/** Names whose answer is kept (a direct-mapped cache: a few hundred metric names per sender fit). */
const SLOTS = 4096;

/**
 * Which series some query could select, judged by the metric name alone, before anything else
 * is done with the series. A series whose `__name__` no query's `__name__` matchers accept is
 * forwarded and nothing more: no hash of its labels, no series id, no share of
 * limits.max_series, no ownership check (shard:). Most of what a proxy forwards is usually not
 * scored (`reader.queries` pick a few metrics), and for those series the label hash and index
 * lookup were most of the per-sample work left (bench/RESULTS.md, session 7).
 *
 * Active only when every query that feeds a model restricts the name (`up`,
 * `{__name__=~"node_.*"}`); a query without a `__name__` matcher (or with `=~".*"` / `=~".+"`)
 * may select any name, and then every series is looked up as before (from() returns null).
 *
 * The name is read where every sender writes it: the series' first Label entry, in its usual
 * one-byte-lengths shape. Anything else (no `__name__` first, a name of 116 bytes or more) passes,
 * and the full match decides as before: the filter only skips a series the selectors would reject
 * (a malformed series with two `__name__` labels is judged by the first). A run of series of one
 * metric (scrapes write them together) costs one compare of the name's bytes per series; another
 * name, a hash of its bytes (wire/hash.ts, as the series index keys series) and a cache slot. The
 * selectors run once per distinct name (again only when two names share a slot).
 */
export class NameFilter {
  /** Per slot (direct-mapped by the name's hash): the name's 64-bit hash and the answer (-1: empty slot). */
  private readonly h1 = new Uint32Array(SLOTS);
  private readonly h2 = new Uint32Array(SLOTS);
  private readonly answer = new Int8Array(SLOTS).fill(-1);
  private readonly key: Hash64 = { h1: 0, h2: 0 };
  /** The previous series of the current batch whose name was read: its name's range and answer (prevLen -1: none). */
  private prevStart = 0;
  private prevLen = -1;
  private prevSelects = true;

  private constructor(
    /** Per query, its `__name__` matchers (all must accept). */
    private readonly queries: Matcher[][],
    private readonly strings: Utf8Strings,
  ) {}

  /** The filter for these selectors (those of queries that feed a model), or null when some of them may select any name. */
  static from(selectors: readonly Selector[], strings: Utf8Strings): NameFilter | null {
    const queries: Matcher[][] = [];
    for (const sel of selectors) {
      const names = sel.matchers.filter((m) => m.name === '__name__' && !(m.op === '=~' && (m.value === '.*' || m.value === '.+')));
      if (names.length === 0) return null;
      queries.push(names);
    }
    return queries.length === 0 ? null : new NameFilter(queries, strings);
  }

  /** The series of a new batch are not compared with the previous batch's (its bytes may be gone). */
  beginBatch(): void {
    this.prevLen = -1;
  }

  /** Could some query select series s of `b`? false only when its name is read and no query accepts it. */
  selects(b: WriteBatch, s: number): boolean {
    const at = b.lblStart[s];
    if (at < 0) return true;
    const buf = b.buf;
    // 0a len 0a 08 "__name__" 12 vlen value, both lengths one byte (a value under 116 bytes).
    const vl = buf[at + 13];
    if (buf[at] !== 0x0a || buf[at + 2] !== 0x0a || buf[at + 3] !== 8 || buf[at + 12] !== 0x12 || vl >= 116 || buf[at + 1] !== 12 + vl || at + 14 + vl > b.lblEnd[s] || !isName(buf, at + 4)) return true;
    const vs = at + 14;
    if (vl === this.prevLen && sameBytes(buf, b.view, vs, this.prevStart, vl)) return this.prevSelects;
    // The answer by the name's 64-bit hash, as the series index identifies series by theirs.
    const key = this.key;
    hashBytes(buf, b.view, vs, vs + vl, 0, key);
    const slot = key.h1 & (SLOTS - 1);
    let r: boolean;
    if (this.answer[slot] >= 0 && this.h1[slot] === key.h1 && this.h2[slot] === key.h2) r = this.answer[slot] === 1;
    else {
      r = this.judge(this.strings.get(buf, vs, vs + vl));
      this.h1[slot] = key.h1;
      this.h2[slot] = key.h2;
      this.answer[slot] = r ? 1 : 0;
    }
    this.prevStart = vs;
    this.prevLen = vl;
    this.prevSelects = r;
    return r;
  }

  private judge(name: string): boolean {
    for (const q of this.queries) {
      let all = true;
      for (const m of q) if (!matchesValue(m, name)) all = false;
      if (all) return true;
    }
    return false;
  }
}
