import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { LabelInt, type WriteBatch } from '../ingest/write-request.js';
import { grown } from '../wire/grow.js';
import { LabelNames } from '../wire/label-names.js';
import { U64, fastHashUint64, xxh64 } from '../wire/xxhash64.js';

/**
 * Which shard vmagent sends a series to, computed exactly as vmagent computes it, so an instance
 * can tell the series it owns. Two ways vmagent shards remote_write by series:
 *
 * 1. `action: hashmod` in a `-remoteWrite.urlRelabelConfig` file per URL, each followed by a
 *    `keep` of its own share (every vmagent, the Debian 1.79.5 included). VictoriaMetrics
 *    lib/promrelabel/relabel.go (v1.79.5 `applyInternal`, unchanged through v1.150):
 *      value = concatLabelValues(labels, source_labels, separator)
 *            = for each name of source_labels in config order, the value of the FIRST label of
 *              that name ("" when absent), joined with `separator` (default ";", config.go);
 *      shard = xxhash.Sum64(value) % modulus            (cespare/xxhash v2: XXH64, seed 0)
 *    Label order does not matter, only names and values. vmagent applies it after
 *    `-remoteWrite.relabelConfig`; in 1.79..1.93 after adding `-remoteWrite.label`s too, from
 *    1.94.0 those are added after the URL's relabeling (app/vmagent/remotewrite/relabel.go
 *    appendExtraLabels), so there the hash never sees them: keep them out of source_labels.
 *
 * 2. `-remoteWrite.shardByURL` (v1.92.0+; app/vmagent/remotewrite/remotewrite.go):
 *      h = xxhash.Sum64(name1 value1 name2 value2 ...) over the series' labels IN WIRE ORDER,
 *          no separators (getLabelsHash / getLabelsHashForShard), only those named by
 *          `-remoteWrite.shardByURL.labels` (v1.99.0+) or all but `-remoteWrite.shardByURL.ignoreLabels`
 *          (v1.100.0+), still in wire order;
 *      v1.92.0..v1.115.x: shard = h % len(urls)
 *      v1.116.0+:         rendezvous hashing over the URLs (lib/consistenthash): node i's hash is
 *                         xxhash.Sum64("<i+1>:<url i>"), shard = the i with the largest
 *                         fastHashUint64(nodeHash_i ^ h) (the first one on a tie); URLs vmagent
 *                         holds unhealthy at that moment are skipped, so while one is down its
 *                         series go elsewhere (this function assumes all are healthy).
 *    The hash is taken before the URL's relabeling and (1.94.0+) before `-remoteWrite.label`s are
 *    appended: list those in `ignoreLabels` here so the instance, which sees them, hashes what
 *    vmagent hashed. Order matters: a vmagent with `-sortLabels` hashes sorted labels.
 *
 * Runs once per new series, so clarity first; still nothing is allocated per call (values are
 * gathered into a reused buffer).
 */

/** Bytes gathered for one hash; grows by doubling, reused. */
class Scratch {
  bytes = new Uint8Array(256);
  len = 0;

  reserve(n: number): void {
    this.bytes = grown(this.bytes, this.len + n);
  }

  /** Appends src[start, end). */
  bytesOf(src: Uint8Array, start: number, end: number): void {
    this.reserve(end - start);
    for (let i = start; i < end; i++) this.bytes[this.len++] = src[i];
  }

  /** Appends `s` as UTF-8 (lone surrogates as U+FFFD, as Go's string conversion and TextEncoder do). */
  utf8(s: string): void {
    this.reserve(s.length * 3);
    const b = this.bytes;
    let o = this.len;
    for (let i = 0; i < s.length; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) b[o++] = c;
      else if (c < 0x800) {
        b[o++] = 0xc0 | (c >>> 6);
        b[o++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdfff) {
          const d = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
          if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            b[o++] = 0xf0 | (c >>> 18);
            b[o++] = 0x80 | ((c >>> 12) & 0x3f);
            b[o++] = 0x80 | ((c >>> 6) & 0x3f);
            b[o++] = 0x80 | (c & 0x3f);
            continue;
          }
          c = 0xfffd;
        }
        b[o++] = 0xe0 | (c >>> 12);
        b[o++] = 0x80 | ((c >>> 6) & 0x3f);
        b[o++] = 0x80 | (c & 0x3f);
      }
    }
    this.len = o;
  }
}

/** A series' labels: [name, value] pairs in wire order. */
export type LabelPairs = ReadonlyArray<readonly [string, string]>;

const utf8 = new TextEncoder();

/** Is batch.buf[start, end) the bytes of `name`? (wire/bytes' sameBytes compares two ranges of one buffer.) */
function isName(buf: Uint8Array, start: number, end: number, name: Uint8Array): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (buf[start + i] !== name[i]) return false;
  return true;
}

function checkCount(count: number, path: string): void {
  if (!Number.isInteger(count) || count < 1 || count > 2 ** 32) throw new ConfigError('ANOM_CONFIG_INVALID', `${path}: expected an integer from 1 to 4294967296, got ${count}`);
}

export interface HashmodOptions {
  /** `source_labels`: the label names whose values are joined, in this order; at least one. */
  sourceLabels: readonly string[];
  /** `separator` between the values; vmagent's default is ";". */
  separator?: string;
  /** `modulus`: the number of shards (integer, 1 .. 2^32). */
  count: number;
}

/** vmagent's `action: hashmod` (see the file comment): the shard 0 .. count-1 of a series. */
export class Hashmod {
  readonly sourceLabels: readonly string[];
  readonly separator: string;
  readonly count: number;
  private readonly names: Uint8Array[];
  private readonly sep: Uint8Array;
  private readonly scratch = new Scratch();
  private readonly h = new U64();

  constructor(opts: HashmodOptions) {
    if (opts.sourceLabels.length === 0) throw new ConfigError('ANOM_CONFIG_INVALID', 'shard.source_labels: expected at least one label name (vmagent rejects hashmod without source_labels)');
    checkCount(opts.count, 'shard.count');
    this.sourceLabels = [...opts.sourceLabels];
    this.separator = opts.separator ?? ';';
    this.count = opts.count;
    this.names = this.sourceLabels.map((n) => utf8.encode(n));
    this.sep = utf8.encode(this.separator);
  }

  /** The joined source label values vmagent hashes, as a string (for tests and debugging). */
  joined(labels: LabelPairs): string {
    return this.sourceLabels.map((n) => labels.find(([k]) => k === n)?.[1] ?? '').join(this.separator);
  }

  /** Shard of a series given as [name, value] pairs (any order; the first label of a name counts). */
  ofPairs(labels: LabelPairs): number {
    const sc = this.scratch;
    sc.len = 0;
    for (let k = 0; k < this.sourceLabels.length; k++) {
      if (k > 0) sc.bytesOf(this.sep, 0, this.sep.length);
      const name = this.sourceLabels[k];
      for (let j = 0; j < labels.length; j++) {
        if (labels[j][0] !== name) continue;
        sc.utf8(labels[j][1]);
        break;
      }
    }
    return xxh64(sc.bytes, 0, sc.len, this.h).mod(this.count);
  }

  /** Shard of series `s` of a decoded batch (reads its label byte ranges; fills them if needed). */
  ofSeries(batch: WriteBatch, s: number): number {
    batch.labels(s);
    const { buf, lbl } = batch;
    const sc = this.scratch;
    sc.len = 0;
    for (let k = 0; k < this.names.length; k++) {
      if (k > 0) sc.bytesOf(this.sep, 0, this.sep.length);
      for (let o = LabelInt.Count * batch.lblFirst[s], end = o + LabelInt.Count * batch.lblCount[s]; o < end; o += LabelInt.Count) {
        if (!isName(buf, lbl[o + LabelInt.NameStart], lbl[o + LabelInt.NameEnd], this.names[k])) continue;
        sc.bytesOf(buf, lbl[o + LabelInt.ValueStart], lbl[o + LabelInt.ValueEnd]);
        break;
      }
    }
    return xxh64(sc.bytes, 0, sc.len, this.h).mod(this.count);
  }
}

export interface ShardByUrlOptions {
  /**
   * vmagent >= 1.116.0: its `-remoteWrite.url` values exactly as given, in flag order (the shard is
   * the index into this list). Give either `urls` or `count`.
   */
  urls?: readonly string[];
  /** vmagent 1.92.0 .. 1.115.x: the number of `-remoteWrite.url`s (shard = hash mod count). */
  count?: number;
  /** `-remoteWrite.shardByURL.labels`: hash only these labels (in wire order). */
  labels?: readonly string[];
  /** `-remoteWrite.shardByURL.ignoreLabels` (and the names of `-remoteWrite.label`s): hash all others. */
  ignoreLabels?: readonly string[];
}

/** vmagent's `-remoteWrite.shardByURL` (see the file comment): the shard 0 .. n-1 of a series. */
export class ShardByUrl {
  readonly count: number;
  /** Rendezvous node hashes (hi, lo per URL); empty for the modulo form. */
  private readonly nodeHi: Uint32Array;
  private readonly nodeLo: Uint32Array;
  private readonly only: ReadonlySet<string> | null;
  private readonly ignore: ReadonlySet<string> | null;
  private readonly onlyNames: LabelNames;
  private readonly ignoreNames: LabelNames;
  private readonly scratch = new Scratch();
  private readonly h = new U64();
  private readonly m = new U64();

  constructor(opts: ShardByUrlOptions) {
    if ((opts.urls === undefined) === (opts.count === undefined)) throw new ConfigError('ANOM_CONFIG_INVALID', 'shard.urls, shard.count: expected exactly one (urls for vmagent >= 1.116, count before)');
    if (opts.labels?.length && opts.ignoreLabels?.length) throw new ConfigError('ANOM_CONFIG_INVALID', 'shard.labels, shard.ignore_labels: expected at most one (vmagent refuses both)');
    const urls = opts.urls ?? [];
    this.count = opts.urls ? urls.length : opts.count!;
    checkCount(this.count, opts.urls ? 'shard.urls (its length)' : 'shard.count');
    this.nodeHi = new Uint32Array(urls.length);
    this.nodeLo = new Uint32Array(urls.length);
    urls.forEach((url, i) => {
      const b = utf8.encode(`${i + 1}:${url}`);
      xxh64(b, 0, b.length, this.h);
      this.nodeHi[i] = this.h.hi;
      this.nodeLo[i] = this.h.lo;
    });
    this.only = opts.labels?.length ? new Set(opts.labels) : null;
    this.ignore = opts.ignoreLabels?.length ? new Set(opts.ignoreLabels) : null;
    this.onlyNames = new LabelNames(opts.labels ?? []);
    this.ignoreNames = new LabelNames(opts.ignoreLabels ?? []);
  }

  /** Shard of a series given as [name, value] pairs in wire order (the order is hashed). */
  ofPairs(labels: LabelPairs): number {
    const sc = this.scratch;
    sc.len = 0;
    for (let j = 0; j < labels.length; j++) {
      const name = labels[j][0];
      if (this.only !== null ? !this.only.has(name) : this.ignore !== null && this.ignore.has(name)) continue;
      sc.utf8(name);
      sc.utf8(labels[j][1]);
    }
    return this.pick();
  }

  /** Shard of series `s` of a decoded batch, its labels in wire order. */
  ofSeries(batch: WriteBatch, s: number): number {
    batch.labels(s);
    const { buf, lbl } = batch;
    const sc = this.scratch;
    sc.len = 0;
    for (let o = LabelInt.Count * batch.lblFirst[s], end = o + LabelInt.Count * batch.lblCount[s]; o < end; o += LabelInt.Count) {
      const ns = lbl[o + LabelInt.NameStart];
      const ne = lbl[o + LabelInt.NameEnd];
      if (this.only !== null ? !this.onlyNames.has(buf, ns, ne) : this.ignoreNames.has(buf, ns, ne)) continue;
      sc.bytesOf(buf, ns, ne);
      sc.bytesOf(buf, lbl[o + LabelInt.ValueStart], lbl[o + LabelInt.ValueEnd]);
    }
    return this.pick();
  }

  /** Hash the gathered bytes and pick the shard (modulo, or rendezvous over the URLs). */
  private pick(): number {
    const h = xxh64(this.scratch.bytes, 0, this.scratch.len, this.h);
    if (this.nodeHi.length === 0) return h.mod(this.count);
    let best = 0;
    let bestHi = 0;
    let bestLo = 0;
    for (let i = 0; i < this.nodeHi.length; i++) {
      const m = fastHashUint64((this.nodeHi[i] ^ h.hi) >>> 0, (this.nodeLo[i] ^ h.lo) >>> 0, this.m);
      if (m.hi > bestHi || (m.hi === bestHi && m.lo > bestLo)) {
        best = i;
        bestHi = m.hi;
        bestLo = m.lo;
      }
    }
    return best;
  }
}

/** `shard:` compiled: which series this instance owns (decided once per new series). */
export class Ownership {
  constructor(
    private readonly shard: Hashmod | ShardByUrl,
    /** This instance's shard, 0 .. count-1. */
    readonly index: number,
  ) {}

  /** Is series `s` of `batch` routed to this instance? */
  owns(batch: WriteBatch, s: number): boolean {
    return this.shard.ofSeries(batch, s) === this.index;
  }
}

/** The `shard:` section (validated by the schema) as an Ownership; none: every series is owned. */
export function compileShard(cfg: Config['shard']): Ownership | null {
  if (cfg === undefined) return null;
  const shard =
    cfg.method === 'hashmod'
      ? new Hashmod({ sourceLabels: cfg.source_labels ?? [], separator: cfg.separator, count: cfg.count ?? 0 })
      : new ShardByUrl({ urls: cfg.urls, count: cfg.urls === undefined ? cfg.count : undefined, labels: cfg.labels, ignoreLabels: cfg.ignore_labels });
  return new Ownership(shard, cfg.index);
}
