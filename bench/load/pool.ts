// The request pool: every remote_write 1.0 body of a run, encoded and snappy-compressed up front.
//
// One round = one sample of every series (what vmagent sends after scraping all targets once), cut into
// requests of `samplesPerRequest` TimeSeries with one sample each. Rounds differ only in each sample's
// value and timestamp, so the pool stores one compressed *template* per request of a round. Every byte of
// a sample's value or timestamp that differs in any round of the run is kept literal in the block (see
// snappy.ts) and its offset recorded; the bytes that never change compress like the labels. materialize()
// copies a template and patches those bytes (~0.1 ms per 2,000-sample request, where re-encoding plus
// snappyjs.compress costs ~1 ms), and the pool for any number of rounds costs the memory of one round.
// Bodies come out ~10-20% larger than snappyjs would make them (literal runs are cut at every kept byte).
//
// Timestamps: round r is stamped start + r * intervalMs, start chosen so that the last round is one
// minute (endAgoMs) in the past: recent enough for any retention, never in the future.

import { varintLen, writeVarint } from '../../src/wire/varint.js';
import { compressWithSlots } from './snappy.js';
import { Hashmod } from '../../src/scoring/hashmod.js';
import { nodeExporterSeries, valueAt, type SeriesSpec, type Shape } from './labels.js';

export interface PoolOptions {
  series: number;
  /** Rounds: samples each series gets over the whole run. */
  samplesPerSeries: number;
  samplesPerRequest: number;
  intervalMs: number;
  /** Wall clock "now" in ms (injectable for tests). */
  nowMs: number;
  /** The last round is stamped this long before nowMs (default one minute). */
  endAgoMs?: number;
  /** Label order and set (labels.ts); default `prometheus`. */
  shape?: Shape;
  /**
   * Keep only the series of this shard of vmagent's `hashmod` over `sourceLabels` (what a vmagent
   * sharding by hashmod sends to one -remoteWrite.url): the pool is that share of `series`, its
   * requests still `samplesPerRequest` series each, as vmagent's per-URL blocks are. `exact`: the
   * shard's first floor(series / count) series instead (from as many series as that takes), so that
   * shards hold equal, chosen counts (whole requests per round: see bench/shards.ts).
   */
  shard?: { count: number; index: number; sourceLabels: string[]; exact?: boolean };
}

export interface Template {
  block: Uint8Array;
  firstSeries: number;
  count: number;
  /** Sample k's patchable bytes are entries [slotStart[k], slotStart[k + 1]) of slotByte / slotAt. */
  slotStart: Uint32Array;
  /** Which byte of the sample's 14 variable bytes (0-7 value little-endian, 8-13 timestamp varint). */
  slotByte: Uint8Array;
  /** Where that byte sits in the compressed block. */
  slotAt: Uint32Array;
}

export interface Pool {
  options: PoolOptions;
  specs: SeriesSpec[];
  templates: Template[];
  requestsPerRound: number;
  totalRequests: number;
  totalSamples: number;
  startMs: number;
  uncompressedBytesPerRound: number;
  compressedBytesPerRound: number;
}

const enc = new TextEncoder();

/** Label pairs as the bytes of repeated `Label labels = 1` fields of a TimeSeries. */
export function encodeLabels(labels: Array<[string, string]>): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [name, value] of labels) {
    const n = enc.encode(name);
    const v = enc.encode(value);
    const inner = 1 + varintLen(n.length) + n.length + 1 + varintLen(v.length) + v.length;
    const b = new Uint8Array(1 + varintLen(inner) + inner);
    let o = 0;
    b[o++] = 0x0a;
    o = writeVarint(b, o, inner);
    b[o++] = 0x0a;
    o = writeVarint(b, o, n.length);
    b.set(n, o);
    o += n.length;
    b[o++] = 0x12;
    o = writeVarint(b, o, v.length);
    b.set(v, o);
    parts.push(b);
    total += b.length;
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// Sample{1: double value, 2: int64 timestamp} as `0x12 0x10 | 0x09 <8 bytes> 0x10 <6-byte varint>`.
const SAMPLE_BYTES = 18;
const TS_MIN = 2 ** 35; // 6-byte varints hold [2^35, 2^42): 1971-02 .. 2109-05 in ms
const TS_MAX = 2 ** 42;

/** Writes `ts` as exactly 6 varint bytes (valid for TS_MIN <= ts < TS_MAX). */
export function putTs6(b: Uint8Array, o: number, ts: number): void {
  let v = ts;
  for (let i = 0; i < 5; i++) {
    b[o + i] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  b[o + 5] = v;
}

export function buildPool(opt: PoolOptions): Pool {
  if (opt.series < 1 || opt.samplesPerSeries < 1 || opt.samplesPerRequest < 1) throw new Error('buildPool: series, samplesPerSeries, samplesPerRequest must be >= 1');
  let specs = nodeExporterSeries(opt.series, opt.shape ?? 'prometheus');
  if (opt.shard) {
    const h = new Hashmod({ sourceLabels: opt.shard.sourceLabels, count: opt.shard.count });
    const index = opt.shard.index;
    const want = Math.floor(opt.series / opt.shard.count);
    for (let more = 2; opt.shard.exact && specs.filter((s) => h.ofPairs(s.labels) === index).length < want; more *= 2) {
      if (more > 64) throw new Error(`buildPool: shard ${index} of ${opt.shard.count} does not reach ${want} series`);
      specs = nodeExporterSeries(opt.series * more, opt.shape ?? 'prometheus');
    }
    specs = specs.filter((s) => h.ofPairs(s.labels) === index);
    if (opt.shard.exact) specs.length = want;
    if (specs.length === 0) throw new Error(`buildPool: shard ${index} of ${opt.shard.count} holds none of the ${opt.series} series`);
  }
  const series = specs.length;
  const labelBytes = specs.map((s) => encodeLabels(s.labels));
  const startMs = Math.floor(opt.nowMs - (opt.endAgoMs ?? 60_000) - (opt.samplesPerSeries - 1) * opt.intervalMs);
  const lastMs = startMs + (opt.samplesPerSeries - 1) * opt.intervalMs;
  if (startMs < TS_MIN || lastMs >= TS_MAX) throw new Error(`buildPool: timestamps ${startMs}..${lastMs} outside the 6-byte varint range`);
  // Which of the 14 variable bytes of each series change over the run (bit k = byte k, see Template).
  const tsBytes0 = new Uint8Array(6);
  const tsBytes = new Uint8Array(6);
  putTs6(tsBytes0, 0, startMs);
  let tsVary = 0;
  for (let r = 1; r < opt.samplesPerSeries; r++) {
    putTs6(tsBytes, 0, startMs + r * opt.intervalMs);
    for (let k = 0; k < 6; k++) if (tsBytes[k] !== tsBytes0[k]) tsVary |= 1 << (8 + k);
  }
  const f64 = new Float64Array(2);
  const f64b = new Uint8Array(f64.buffer);
  const vary = new Uint16Array(series);
  for (let s = 0; s < series; s++) {
    f64[0] = valueAt(specs[s], s, 0);
    let v = 0;
    for (let r = 1; r < opt.samplesPerSeries && v !== 0xff; r++) {
      f64[1] = valueAt(specs[s], s, r);
      for (let k = 0; k < 8; k++) if (f64b[k] !== f64b[8 + k]) v |= 1 << k;
    }
    vary[s] = v | tsVary;
  }
  const templates: Template[] = [];
  let uncompressed = 0;
  let compressed = 0;
  for (let first = 0; first < series; first += opt.samplesPerRequest) {
    const count = Math.min(opt.samplesPerRequest, series - first);
    let size = 0;
    let slots = 0;
    for (let s = first; s < first + count; s++) {
      const body = labelBytes[s].length + SAMPLE_BYTES;
      size += 1 + varintLen(body) + body;
      for (let k = 0; k < 14; k++) if (vary[s] & (1 << k)) slots++;
    }
    const raw = new Uint8Array(size);
    const mask = new Uint8Array(size);
    const track = new Uint32Array(slots);
    const slotStart = new Uint32Array(count + 1);
    const slotByte = new Uint8Array(slots);
    let o = 0;
    let j = 0;
    for (let s = first; s < first + count; s++) {
      const lb = labelBytes[s];
      raw[o++] = 0x0a;
      o = writeVarint(raw, o, lb.length + SAMPLE_BYTES);
      raw.set(lb, o);
      o += lb.length;
      raw[o++] = 0x12;
      raw[o++] = 0x10;
      raw[o++] = 0x09;
      const valueOff = o;
      f64[0] = valueAt(specs[s], s, 0);
      raw.set(f64b.subarray(0, 8), o);
      o += 8;
      raw[o++] = 0x10;
      const tsOff = o;
      putTs6(raw, o, startMs);
      o += 6;
      slotStart[s - first] = j;
      for (let k = 0; k < 14; k++) {
        if (!(vary[s] & (1 << k))) continue;
        const at = k < 8 ? valueOff + k : tsOff + k - 8;
        mask[at] = 1;
        track[j] = at;
        slotByte[j++] = k;
      }
    }
    slotStart[count] = j;
    const { block, trackedAt } = compressWithSlots(raw, mask, track);
    templates.push({ block, firstSeries: first, count, slotStart, slotByte, slotAt: trackedAt });
    uncompressed += size;
    compressed += block.length;
  }
  const requestsPerRound = templates.length;
  return {
    options: opt,
    specs,
    templates,
    requestsPerRound,
    totalRequests: requestsPerRound * opt.samplesPerSeries,
    totalSamples: series * opt.samplesPerSeries,
    startMs,
    uncompressedBytesPerRound: uncompressed,
    compressedBytesPerRound: compressed,
  };
}

/** Number of samples in request `index` (0 <= index < totalRequests). */
export function requestSamples(pool: Pool, index: number): number {
  return pool.templates[index % pool.requestsPerRound].count;
}

const scratchF64 = new Float64Array(2);
const scratch = new Uint8Array(scratchF64.buffer); // bytes 0-7 value, 8-13 timestamp

/** A fresh Buffer with request `index`'s body: round = index / requestsPerRound. */
export function materialize(pool: Pool, index: number): Buffer {
  const round = Math.floor(index / pool.requestsPerRound);
  const t = pool.templates[index % pool.requestsPerRound];
  const out = Buffer.allocUnsafe(t.block.length);
  out.set(t.block);
  putTs6(scratch, 8, pool.startMs + round * pool.options.intervalMs);
  const specs = pool.specs;
  const { slotStart, slotByte, slotAt } = t;
  for (let k = 0; k < t.count; k++) {
    const s = t.firstSeries + k;
    scratchF64[0] = valueAt(specs[s], s, round);
    for (let j = slotStart[k]; j < slotStart[k + 1]; j++) out[slotAt[j]] = scratch[slotByte[j]];
  }
  return out;
}
