import { grown } from '../wire/grow.js';

/**
 * Which scoring instances (query x model) score which series, and where their state lives.
 *
 * A series id (from SeriesIndex) points to its first link or -1 (unmatched, decided once).
 * Each link names an instance and the offset of this series' state in that instance's
 * columnar Float64Array, plus two slots of transform state (previous raw value and time)
 * for `transform: rate | increase`, and the last score above 1 with when it came (for the
 * status page's "anomalous now"). All typed arrays; nothing per series on the JS heap.
 */
export class Links {
  /** Per series id: first link, or -1. */
  first: Int32Array = new Int32Array(1024).fill(-1);
  /** Links ever allocated (live or free), and live ones. */
  count = 0;
  live = 0;
  inst: Int32Array = new Int32Array(1024);
  offset: Int32Array = new Int32Array(1024);
  next: Int32Array = new Int32Array(1024);
  prevValue: Float64Array = new Float64Array(1024);
  prevTs: Float64Array = new Float64Array(1024);
  /** The highest score above 1 of the last request that had one (0: none yet), and when it was scored (seconds, wall clock). */
  aboveScore: Float64Array = new Float64Array(1024);
  aboveAt: Uint32Array = new Uint32Array(1024);

  setFirst(seriesId: number, link: number): void {
    this.first = grown(this.first, seriesId + 1, -1);
    this.first[seriesId] = link;
  }

  /** Links of evicted series, for reuse. */
  private free: Int32Array = new Int32Array(1024);
  private freeCount = 0;

  /** Release series `seriesId`'s links; `release(inst, offset)` is told each state slot freed. */
  drop(seriesId: number, release: (inst: number, offset: number) => void): void {
    for (let k = this.first[seriesId]; k >= 0; k = this.next[k]) {
      release(this.inst[k], this.offset[k]);
      this.free = grown(this.free, this.freeCount + 1);
      this.free[this.freeCount++] = k;
      this.live--;
    }
    this.first[seriesId] = -1;
  }

  /** Room for series ids below `ids` and `n` more links: the capacities add() and setFirst() would grow to (see SeriesIndex.reserve()). */
  reserve(ids: number, n: number): void {
    this.first = grown(this.first, ids, -1);
    const need = this.count + n;
    this.inst = grown(this.inst, need);
    this.offset = grown(this.offset, need);
    this.next = grown(this.next, need);
    this.prevValue = grown(this.prevValue, need);
    this.prevTs = grown(this.prevTs, need);
    this.aboveScore = grown(this.aboveScore, need);
    this.aboveAt = grown(this.aboveAt, need);
  }

  add(inst: number, offset: number, next: number): number {
    this.live++;
    if (this.freeCount > 0) {
      const k = this.free[--this.freeCount];
      this.set(k, inst, offset, next);
      return k;
    }
    const k = this.count++;
    if (k >= this.inst.length) {
      this.inst = grown(this.inst, k + 1);
      this.offset = grown(this.offset, k + 1);
      this.next = grown(this.next, k + 1);
      this.prevValue = grown(this.prevValue, k + 1);
      this.prevTs = grown(this.prevTs, k + 1);
      this.aboveScore = grown(this.aboveScore, k + 1);
      this.aboveAt = grown(this.aboveAt, k + 1);
    }
    this.set(k, inst, offset, next);
    return k;
  }

  private set(k: number, inst: number, offset: number, next: number): void {
    this.inst[k] = inst;
    this.offset[k] = offset;
    this.next[k] = next;
    this.prevValue[k] = NaN;
    this.prevTs[k] = NaN;
    this.aboveScore[k] = 0;
    this.aboveAt[k] = 0;
  }

  /**
   * A reload: each link's instance i becomes `newInst[i]`; links whose instance maps to -1 (a
   * query or model removed or changed) are freed, with their instance's state.
   */
  remap(newInst: Int32Array): void {
    for (let id = 0; id < this.first.length; id++) {
      let prev = -1;
      for (let k = this.first[id]; k >= 0;) {
        const next = this.next[k];
        const ni = newInst[this.inst[k]];
        if (ni >= 0) {
          this.inst[k] = ni;
          prev = k;
        } else {
          if (prev < 0) this.first[id] = next;
          else this.next[prev] = next;
          this.free = grown(this.free, this.freeCount + 1);
          this.free[this.freeCount++] = k;
          this.live--;
        }
        k = next;
      }
    }
  }
}
