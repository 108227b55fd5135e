import { LabelInt, type WriteBatch } from '../ingest/write-request.js';
import { grown } from '../wire/grow.js';
import { finishHash, hashBytes } from '../wire/hash.js';
import type { LabelNames } from '../wire/label-names.js';

/**
 * Series index: a series' identity (tenant + its label bytes) -> dense id, off the JS heap.
 *
 * Open addressing with linear probing in an Int32Array of ids (capacity a power of two, kept
 * at most half full), keyed by a 64-bit hash made of two independent 32-bit hashes of the
 * label bytes (name and value of each label, each followed by its length, so label
 * boundaries count). No label strings are kept: a million series cost the table (4 bytes a
 * slot, 2 to 4 slots per series), 8 bytes of hash and 4 of last-seen time per series.
 * Idle series are evicted by a periodic sweep (evictIdle) and their ids reused.
 *
 * Two distinct series share an id only if both 32-bit hashes collide: for n series the
 * probability is about n^2 / 2^65 (3e-8 at a million series). The cost of that event is one
 * series scored by the other's model, and its generated series built with the other's cached
 * block plan (emit/encoder.ts plan()), so parts of their labels can be the other's; raw data
 * is never affected (it is forwarded as is).
 */
export class SeriesIndex {
  /** Live series. */
  size = 0;
  /** Ids ever handed out (ids below it are live or on the free list). */
  end = 0;
  /** Per id: when last seen (seconds, the caller's clock: see touch()); FREE on the free list. */
  private lastSeen = new Uint32Array(1024);
  private free = new Int32Array(1024);
  private freeCount = 0;
  private table: Int32Array;
  private mask: number;
  private hashes: Uint32Array;
  /** hashIgnoring()'s gathered label entries. */
  private kept = new Uint8Array(256);
  private keptView = new DataView(this.kept.buffer);

  /** limits.max_series; a reload may change it (below `size`: no new series until enough are evicted). */
  constructor(public maxSeries: number) {
    const cap = 1024;
    this.table = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    this.hashes = new Uint32Array(2 * 1024);
  }

  /**
   * Hash series `s` of `batch`, seeded with `seed` (the tenant), into `key`. When its Label
   * entries are contiguous on the wire (always, from real senders) the raw entry bytes are
   * hashed 4 at a time; otherwise label by label. The two ways give different hashes for the
   * same labels, so a sender switching between them would see its series once under each.
   */
  hash(batch: WriteBatch, s: number, seed: number, key: SeriesKey): void {
    const start = batch.lblStart[s];
    if (start >= 0) hashBytes(batch.buf, batch.view, start, batch.lblEnd[s], seed, key);
    else hashLabels(batch, s, seed, key);
  }

  /**
   * hash() of series `s` without its Label entries named in `ignore` (reader.ignore_labels), so
   * copies of a series that differ only there (an HA pair's `replica`) get one key: the key the
   * series has without those labels (contiguous entries: the other entries' bytes, gathered,
   * hash as that series' range would). Reads every series' label ranges (WriteBatch.labels), a
   * cost hash() does not have: used only when ignore_labels is set.
   */
  hashIgnoring(batch: WriteBatch, s: number, seed: number, key: SeriesKey, ignore: LabelNames): void {
    batch.labels(s);
    const b = batch.buf;
    const l = batch.lbl;
    const first = batch.lblFirst[s];
    const last = first + batch.lblCount[s];
    let j = first;
    while (j < last && !ignore.has(b, l[LabelInt.Count * j + LabelInt.NameStart], l[LabelInt.Count * j + LabelInt.NameEnd])) j++;
    if (j === last) return this.hash(batch, s, seed, key);
    if (batch.lblStart[s] < 0) return hashLabels(batch, s, seed, key, ignore);
    let n = 0;
    this.kept = grown(this.kept, batch.lblEnd[s] - batch.lblStart[s]);
    const kept = this.kept;
    for (j = first; j < last; j++) {
      const o = LabelInt.Count * j;
      if (ignore.has(b, l[o + LabelInt.NameStart], l[o + LabelInt.NameEnd])) continue;
      for (let i = l[o + LabelInt.EntryStart], e = l[o + LabelInt.EntryEnd]; i < e; i++) kept[n++] = b[i];
    }
    if (this.keptView.buffer !== kept.buffer) this.keptView = new DataView(kept.buffer);
    hashBytes(kept, this.keptView, 0, n, seed, key);
  }

  /**
   * Id of the series with this key, or -1 when unknown; `guess` is checked first. Senders write
   * their series in the same order every time and ids are handed out in first-seen order, so
   * "the id after the previous series' id" is nearly always right, and checking it reads memory
   * next to the previous check instead of a random table slot (a cache miss per series at 100k+).
   */
  findFrom(key: SeriesKey, guess: number): number {
    const hs = this.hashes;
    if (guess < this.end && hs[2 * guess] === key.h1 && hs[2 * guess + 1] === key.h2 && this.lastSeen[guess] !== FREE) return guess;
    return this.find(key);
  }

  /** Id of the series with this key, or -1 when unknown. */
  find(key: SeriesKey): number {
    const t = this.table;
    const hs = this.hashes;
    const h1 = key.h1;
    const h2 = key.h2;
    for (let i = h1 & this.mask; ; i = (i + 1) & this.mask) {
      const id = t[i];
      if (id < 0) return -1;
      if (hs[2 * id] === h1 && hs[2 * id + 1] === h2) return id;
    }
  }

  /** Add the series with this key (after find() returned -1), seen at `now`; -1 when the index is full. */
  add(key: SeriesKey, now: number): number {
    if (this.size >= this.maxSeries) return -1;
    let id: number;
    if (this.freeCount > 0) id = this.free[--this.freeCount];
    else {
      id = this.end++;
      this.hashes = grown(this.hashes, 2 * id + 2);
      this.lastSeen = grown(this.lastSeen, id + 1);
    }
    this.size++;
    this.hashes[2 * id] = key.h1;
    this.hashes[2 * id + 1] = key.h2;
    this.lastSeen[id] = now;
    if (2 * this.size > this.table.length) this.rehash(this.table.length * 2);
    else this.place(id, key.h1);
    return id;
  }

  /**
   * Room for `n` more series (a restore knows how many its file holds): the capacities n add()s
   * would grow the table and columns to, reached at once instead of by ~log2(n) doublings, each
   * a copy of everything so far into memory not yet touched (at a million series the copies and
   * page faults of all the columns were ~60% of a restore).
   */
  reserve(n: number): void {
    this.hashes = grown(this.hashes, 2 * (this.end + n));
    this.lastSeen = grown(this.lastSeen, this.end + n);
    let cap = this.table.length;
    while (2 * (this.size + n) > cap) cap *= 2;
    if (cap > this.table.length) this.rehash(cap);
  }

  /** When series `id` was last seen (touch()'s clock); -1 when the id is free. */
  seenAt(id: number): number {
    const seen = this.lastSeen[id];
    return seen === FREE ? -1 : seen;
  }

  /** Mark series `id` as seen at `now` (seconds; any clock below 2^32 - 1, the same for every call). */
  touch(id: number, now: number): void {
    this.lastSeen[id] = now;
  }

  /**
   * Forget every series last seen before `before` (the clock of touch()); `onEvict(id)` runs
   * for each before its id is reused. O(ids): meant for a periodic sweep, not the hot path.
   */
  evictIdle(before: number, onEvict: (id: number) => void): number {
    let n = 0;
    for (let id = 0; id < this.end; id++) {
      const seen = this.lastSeen[id];
      if (seen === FREE || seen >= before) continue;
      this.remove(id);
      onEvict(id);
      n++;
    }
    return n;
  }

  /** Backward-shift deletion: later entries of the probe run move up, so find() needs no tombstones. */
  private remove(id: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = this.hashes[2 * id] & mask;
    while (t[i] !== id) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; t[j] >= 0; j = (j + 1) & mask) {
      const home = this.hashes[2 * t[j]] & mask;
      // Move t[j] into the hole at i unless its home lies cyclically in (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        t[i] = t[j];
        i = j;
      }
    }
    t[i] = -1;
    this.lastSeen[id] = FREE;
    this.free = grown(this.free, this.freeCount + 1);
    this.free[this.freeCount++] = id;
    this.size--;
  }

  private place(id: number, h1: number): void {
    let i = h1 & this.mask;
    while (this.table[i] >= 0) i = (i + 1) & this.mask;
    this.table[i] = id;
  }

  private rehash(cap: number): void {
    this.table = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
    for (let id = 0; id < this.end; id++) if (this.lastSeen[id] !== FREE) this.place(id, this.hashes[2 * id]);
  }
}

/** lastSeen of an id on the free list. */
const FREE = 0xffffffff;

/**
 * A series' identity in the index: a 64-bit hash as two independent 32-bit halves. Written by
 * SeriesIndex.hash(), read by find() and add(); the caller owns one and reuses it.
 */
export class SeriesKey {
  h1 = 0;
  h2 = 0;
}

/** Labels not contiguous on the wire: decode() has filled their ranges already. Labels named in `ignore` are left out. */
function hashLabels(batch: WriteBatch, s: number, seed: number, key: SeriesKey, ignore: LabelNames | null = null): void {
  const b = batch.buf;
  const l = batch.lbl;
  let h1 = (0x811c9dc5 ^ seed) | 0;
  let h2 = (0x9e3779b9 + seed) | 0;
  const first = batch.lblFirst[s];
  const last = first + batch.lblCount[s];
  for (let j = first; j < last; j++) {
    if (ignore !== null && ignore.has(b, l[LabelInt.Count * j + LabelInt.NameStart], l[LabelInt.Count * j + LabelInt.NameEnd])) continue;
    // The name's range, then the value's (each range's end is the int after its start).
    for (let k = LabelInt.NameStart; k <= LabelInt.ValueStart; k += LabelInt.ValueStart - LabelInt.NameStart) {
      const start = l[LabelInt.Count * j + k];
      const end = l[LabelInt.Count * j + k + 1];
      for (let i = start; i < end; i++) {
        const c = b[i];
        h1 = Math.imul(h1 ^ c, 0x01000193);
        h2 = Math.imul(h2 + c, 0x5bd1e995);
        h2 ^= h2 >>> 15;
      }
      h1 = Math.imul(h1 ^ (end - start), 0x01000193);
      h2 = Math.imul(h2 + (end - start) + 0x100, 0x5bd1e995);
    }
  }
  finishHash(h1, h2, key);
}
