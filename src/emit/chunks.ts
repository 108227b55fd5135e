import { grown } from '../wire/grow.js';

/** Chunk bytes kept at most: ~120 bytes per series (4 outputs), so ~500,000 series; later ones are encoded each time. */
const MAX_MEMO_BYTES = 64 << 20;
/** Chunks are kept in pages of this size (that never move: a chunk keeps its place). */
const PAGE = 1 << 20;
/** Output variables per instance at most (Column.Count). */
export const MAX_OUTPUTS = 5;
/** A chunk longer than this (compressed or not) is not kept: its offsets are 16-bit. */
export const MAX_CHUNK = 0xffff;

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
 *
 * Memory: 53 bytes per series id in these columns, plus the chunk (~120 bytes for 4 outputs)
 * while the pages hold MAX_MEMO_BYTES.
 */
export class ChunkMemo {
  /** Per series id: the chunk's page and place in it, its length (0: none) and its slot's room, its uncompressed length. */
  page = new Uint8Array(1024);
  at = new Int32Array(1024);
  len = new Uint16Array(1024);
  private room = new Uint16Array(1024);
  raw = new Uint16Array(1024);
  /** The chunk before it: series id, generation, instance (first prefix id); the timestamp varint length of both. */
  ctxId = new Int32Array(1024);
  ctxGen = new Int32Array(1024);
  inst = new Int32Array(1024);
  tl = new Uint8Array(1024);
  /** Offset of the timestamp varint in the chunk. */
  tsOff = new Uint16Array(1024);
  /** The far source_metric copy: its name id (-1: none) and distance back from the chunk's start. */
  farName = new Int32Array(1024);
  farDist = new Int32Array(1024);
  /** Per (id, output k) at MAX_OUTPUTS * id + k: offset of the value's 8 bytes, uncompressed offset of the prefix. */
  valOff = new Uint16Array(1024 * MAX_OUTPUTS);
  preOff = new Uint16Array(1024 * MAX_OUTPUTS);
  /**
   * The pages and a DataView over each: keep() copies a chunk in four bytes at a time
   * (wire/bytes.ts); fromMemo() copies runs of consecutive chunks out with one native call.
   */
  pages: Uint8Array[] = [];
  views: DataView[] = [];
  private used = PAGE;

  /** Forget the chunk of `id` (its labels changed). */
  drop(id: number): void {
    if (id >= this.len.length) this.grow(id + 1);
    this.len[id] = 0;
  }

  /** Find room for n (<= MAX_CHUNK) bytes of `id`'s chunk (then at page[id], at[id]); false when the memo is full. */
  place(id: number, n: number): boolean {
    if (id >= this.len.length) this.grow(id + 1);
    if (this.room[id] >= n) return true;
    if (this.used + n > PAGE) {
      if (this.pages.length * PAGE >= MAX_MEMO_BYTES) return false;
      const p = new Uint8Array(PAGE);
      this.pages.push(p);
      this.views.push(new DataView(p.buffer));
      this.used = 0;
    }
    this.page[id] = this.pages.length - 1;
    this.at[id] = this.used;
    this.room[id] = n;
    this.used += n;
    return true;
  }

  /** Room for series ids below `ids` (a restore), as drop() and place() would grow to. */
  reserve(ids: number): void {
    if (ids > this.len.length) this.grow(ids);
  }

  private grow(n: number): void {
    this.page = grown(this.page, n);
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
