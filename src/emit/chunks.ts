import { grown } from '../wire/grow.js';

/** Memo bytes kept at most: ~150 bytes per series (4 outputs), so ~400,000 series; later ones are encoded each time. */
const MAX_MEMO_BYTES = 64 << 20;
/** Output variables per instance at most (Column.Count). */
export const MAX_OUTPUTS = 5;

/**
 * The snappy bytes GeneratedEncoder.writeOutputs wrote for a series' one sample (its *chunk*:
 * every output series of one input sample, literals closed at both ends), kept per series id to
 * be written again with the next sample's timestamp and values patched in.
 *
 * A chunk's copies point into itself, into the chunk written just before it (prefixes, the
 * labels it shares with the series before) and, at most once, to an earlier source_metric entry
 * of the same metric name. So the same bytes decode to the same labels wherever the chunk
 * before is the same: the same series (id and generation) with the same outputs (instance) and
 * timestamp length, and the far copy, if any, at the same distance. The encoder checks that
 * before using a chunk; otherwise it encodes the series and keeps the new chunk.
 */
export class ChunkMemo {
  bytes = new Uint8Array(1 << 16);
  view = new DataView(this.bytes.buffer);
  private used = 0;
  /** Per series id: the chunk's place in `bytes`, its length (0: none) and room, its uncompressed length. */
  at = new Int32Array(1024);
  len = new Int32Array(1024);
  private room = new Int32Array(1024);
  raw = new Int32Array(1024);
  /** The chunk before it: series id, generation, instance (first prefix id); the timestamp varint length of both. */
  ctxId = new Int32Array(1024);
  ctxGen = new Int32Array(1024);
  inst = new Int32Array(1024);
  tl = new Int32Array(1024);
  /** Offset of the timestamp varint in the chunk. */
  tsOff = new Int32Array(1024);
  /** The far source_metric copy: its name id (-1: none) and distance back from the chunk's start. */
  farName = new Int32Array(1024);
  farDist = new Float64Array(1024);
  /** Per (id, output k) at MAX_OUTPUTS * id + k: offset of the value's 8 bytes, uncompressed offset of the prefix. */
  valOff = new Int32Array(1024 * MAX_OUTPUTS);
  preOff = new Int32Array(1024 * MAX_OUTPUTS);

  /** Forget the chunk of `id` (its labels changed). */
  drop(id: number): void {
    if (id >= this.len.length) this.grow(id + 1);
    this.len[id] = 0;
  }

  /** Room for a chunk of n bytes for `id` (its offset in `bytes`), or -1 when the memo is full. */
  place(id: number, n: number): number {
    if (id >= this.len.length) this.grow(id + 1);
    if (this.room[id] >= n) return this.at[id];
    if (this.used + n > MAX_MEMO_BYTES) return -1;
    if (this.used + n > this.bytes.length) {
      this.bytes = grown(this.bytes, this.used + n);
      this.view = new DataView(this.bytes.buffer);
    }
    this.at[id] = this.used;
    this.room[id] = n;
    this.used += n;
    return this.at[id];
  }

  private grow(n: number): void {
    this.at = grown(this.at, n);
    this.len = grown(this.len, n);
    this.room = grown(this.room, n);
    this.raw = grown(this.raw, n);
    this.ctxId = grown(this.ctxId, n);
    this.ctxGen = grown(this.ctxGen, n);
    this.inst = grown(this.inst, n);
    this.tl = grown(this.tl, n);
    this.tsOff = grown(this.tsOff, n);
    this.farName = grown(this.farName, n);
    this.farDist = grown(this.farDist, n);
    this.valOff = grown(this.valOff, n * MAX_OUTPUTS);
    this.preOff = grown(this.preOff, n * MAX_OUTPUTS);
  }
}
