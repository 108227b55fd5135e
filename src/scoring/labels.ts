import { LabelInt, type WriteBatch } from '../ingest/write-request.js';
import { grown } from '../wire/grow.js';

/**
 * The label bytes and tenant of every scored series, kept for snapshots (the series index
 * keeps only a 64-bit hash): what a snapshot keys model state by, and what a later re-sharding
 * of state needs. Written once, when a series gets model state; never read on the hot path.
 *
 * The bytes are the series' protobuf Label entries (TimeSeries field 1, tag and length
 * included) exactly as the sender wrote them, so hashing them again gives the series' index
 * key (SeriesIndex.hash over contiguous entries). All entries live in one arena (`bytes`); an
 * evicted series' entry becomes garbage, and the arena is compacted once the garbage outweighs
 * the live bytes (amortised O(1) per byte freed; in the eviction sweep, never per sample).
 * Tenants are interned: a table of the few distinct ones, a number per series.
 */
export class LabelStore {
  /** The arena: live entries and garbage, `used` bytes of it written. */
  private bytes = new Uint8Array(64 * 1024);
  private used = 0;
  private garbage = 0;
  /** Per series id: its entry's start in `bytes`, its length (-1: none), its tenant number. */
  private start = new Float64Array(1024);
  private len = new Int32Array(1024).fill(-1);
  private tenantNo = new Int32Array(1024);
  private readonly tenantIds = new Map<string | null, number>();
  /** Tenant strings by number (null: no tenant, single node). Only grows. */
  readonly tenants: (string | null)[] = [];

  /** Keep the labels of series `s` of `batch` (and its tenant) for series id `id`. */
  keep(id: number, batch: WriteBatch, s: number, tenant: string | null): void {
    const from = batch.lblStart[s];
    if (from >= 0) {
      this.keepBytes(id, batch.buf, from, batch.lblEnd[s], tenant);
      return;
    }
    // Not contiguous on the wire (no real sender does this): the entries one after another.
    batch.labels(s);
    let n = 0;
    const l = batch.lbl;
    const first = batch.lblFirst[s];
    const last = first + batch.lblCount[s];
    for (let j = first; j < last; j++) n += l[LabelInt.Count * j + LabelInt.EntryEnd] - l[LabelInt.Count * j + LabelInt.EntryStart];
    let p = this.room(id, n, tenant);
    for (let j = first; j < last; j++) {
      const es = l[LabelInt.Count * j + LabelInt.EntryStart];
      const ee = l[LabelInt.Count * j + LabelInt.EntryEnd];
      this.bytes.set(batch.buf.subarray(es, ee), p);
      p += ee - es;
    }
  }

  /** Keep bytes[from, to) as the label entries of series `id` (a restored series). */
  keepBytes(id: number, src: Uint8Array, from: number, to: number, tenant: string | null): void {
    const at = this.room(id, to - from, tenant);
    this.bytes.set(src.subarray(from, to), at);
  }

  /** Room for series ids below `ids` and `bytes` more label bytes: the capacities keep() would grow to (see SeriesIndex.reserve()). */
  reserve(ids: number, bytes: number): void {
    if (ids > this.len.length) this.growIds(ids);
    this.bytes = grown(this.bytes, this.used + bytes);
  }

  private growIds(ids: number): void {
    const old = this.len.length;
    this.start = grown(this.start, ids);
    this.len = grown(this.len, ids);
    this.len.fill(-1, old);
    this.tenantNo = grown(this.tenantNo, ids);
  }

  /** Room for n bytes of series `id`'s entry; returns where it starts. */
  private room(id: number, n: number, tenant: string | null): number {
    if (id >= this.len.length) this.growIds(id + 1);
    if (this.len[id] >= 0) this.release(id);
    this.bytes = grown(this.bytes, this.used + n);
    const at = this.used;
    this.used += n;
    this.start[id] = at;
    this.len[id] = n;
    let t = this.tenantIds.get(tenant);
    if (t === undefined) {
      t = this.tenants.length;
      this.tenants.push(tenant);
      this.tenantIds.set(tenant, t);
    }
    this.tenantNo[id] = t;
    return at;
  }

  /** Series `id` no longer has labels kept (evicted); compacts the arena when garbage outweighs live bytes. */
  release(id: number): void {
    if (id >= this.len.length || this.len[id] < 0) return;
    this.garbage += this.len[id];
    this.len[id] = -1;
    if (this.garbage > 1 << 20 && 2 * this.garbage > this.used) this.compact();
  }

  has(id: number): boolean {
    return id < this.len.length && this.len[id] >= 0;
  }

  /** Length of series `id`'s label entries. */
  lengthOf(id: number): number {
    return this.len[id];
  }

  /** Copy series `id`'s label entries to dst[at..]; returns their length. */
  copyTo(id: number, dst: Uint8Array, at: number): number {
    const from = this.start[id];
    const n = this.len[id];
    const b = this.bytes;
    for (let i = 0; i < n; i++) dst[at + i] = b[from + i];
    return n;
  }

  /** Tenant number of series `id` (an index into `tenants`). */
  tenantOf(id: number): number {
    return this.tenantNo[id];
  }

  /** Copy the live entries into a fresh arena of about 1.5x their size. */
  private compact(): void {
    const live = this.used - this.garbage;
    const next = new Uint8Array(Math.max(64 * 1024, Math.ceil(live * 1.5)));
    let p = 0;
    for (let id = 0; id < this.len.length; id++) {
      const n = this.len[id];
      if (n < 0) continue;
      const at = this.start[id];
      next.set(this.bytes.subarray(at, at + n), p);
      this.start[id] = p;
      p += n;
    }
    this.bytes = next;
    this.used = p;
    this.garbage = 0;
  }
}
