import type { Scorer } from '../models/scorer.js';
import { grown } from '../wire/grow.js';
import type { ScoringSpec } from './instances.js';
import { LabelStore } from './labels.js';
import { Links } from './links.js';
import { SeriesIndex } from './series-index.js';

/** Model state of one instance (query x model): one columnar Float64Array, `slots` per series. */
export interface InstanceState {
  readonly slots: number;
  /** The scorer the state was made by (a reload keeps an instance's state only with equal settings). */
  readonly scorer: Scorer;
  state: Float64Array;
  /** Series states ever allocated (offsets below used * slots are live or free). */
  used: number;
  /** State offsets of evicted series, reused before `used` grows. */
  readonly freeOffsets: number[];
  /** Live series past their warm-up (the rest of the live ones are warming up). */
  ready: number;
  /** The generation this state started in (0: at start; a reload's new or changed pair: that reload's). */
  readonly born: number;
}

/**
 * Everything the scoring unit keeps between requests, in one place: the series index (series
 * -> id), the links (id -> the instances scoring it, each with its state offset and transform
 * state), each instance's model state and, when snapshots are on, each scored series' label
 * bytes and tenant. All typed arrays; nothing per series on the JS heap. A snapshot
 * (snapshot-write.ts) walks exactly this: for every id with labels its links, for every link
 * its instance's slots at its offset; a restore fills it through the same allocate/add paths
 * as a new series.
 *
 * A reload (reshape()) keeps the index, the links, the label bytes and the state of the
 * instances whose settings are unchanged, frees the others and bumps `generation`: a series
 * whose `matchedGen` is older is matched again, on its next sample, against the queries of the
 * instances born since (however many reloads came in between). A snapshot written after a
 * reload holds the current instances.
 */
export class ScoringState {
  readonly index: SeriesIndex;
  readonly links = new Links();
  instances: InstanceState[];
  /** Label bytes and tenant per scored series; null when snapshots are off (nothing to key them by). */
  readonly labels: LabelStore | null;
  /** The spec's generation: 0 at start, +1 per reload. */
  generation = 0;
  /** Per series id: the generation it was last matched against the queries in. */
  matchedGen: Uint32Array = new Uint32Array(1024);

  constructor(spec: ScoringSpec, maxSeries: number, keepLabels: boolean) {
    this.index = new SeriesIndex(maxSeries);
    this.instances = spec.instances.map((i) => freshState(i.scorer, 0));
    this.labels = keepLabels ? new LabelStore() : null;
  }

  /** Series `id` is matched against the queries of the current generation. */
  matched(id: number): void {
    this.matchedGen = grown(this.matchedGen, id + 1);
    this.matchedGen[id] = this.generation;
  }

  /**
   * Room for `series` more series, `links[i]` of them scored by instance i, and `labelBytes` more
   * label bytes, before a restore adds them one by one: every column reaches at once the capacity
   * it would have grown to (the same memory), instead of doubling ~log2(series) times.
   */
  reserve(series: number, links: ArrayLike<number>, labelBytes: number): void {
    this.index.reserve(series);
    const ids = this.index.end + series;
    let total = 0;
    for (let i = 0; i < this.instances.length; i++) {
      const s = this.instances[i];
      const n = links[i] ?? 0;
      total += n;
      if (n > 0 && s.freeOffsets.length === 0) s.state = grown(s.state, (s.used + n) * s.slots);
    }
    this.links.reserve(ids, total);
    this.matchedGen = grown(this.matchedGen, ids);
    this.labels?.reserve(ids, labelBytes);
  }

  /** A state offset in instance `inst` for a new series (its slots are not initialised). */
  allocate(inst: number): number {
    const s = this.instances[inst];
    const off = s.freeOffsets.length > 0 ? s.freeOffsets.pop()! : s.used++ * s.slots;
    s.state = grown(s.state, off + s.slots);
    return off;
  }

  /**
   * Forget series last seen before `before` (seconds, the index's clock): their ids, links,
   * state offsets and label bytes are freed for new series; `onEvict(id)` runs for each.
   * Returns how many were evicted.
   */
  evictIdle(before: number, onEvict?: (id: number) => void): number {
    return this.index.evictIdle(before, (id) => {
      this.forget(id);
      onEvict?.(id);
    });
  }

  /**
   * A reload to `spec`: instance j takes over the state of the current instance `from[j]`
   * (-1: it starts empty, born in the new generation); the links of instances not taken over are
   * freed.
   */
  reshape(spec: ScoringSpec, from: Int32Array): void {
    const to = new Int32Array(this.instances.length).fill(-1);
    from.forEach((i, j) => {
      if (i >= 0) to[i] = j;
    });
    const generation = this.generation + 1;
    this.instances = spec.instances.map((inst, j) => (from[j] >= 0 ? this.instances[from[j]] : freshState(inst.scorer, generation)));
    this.links.remap(to);
    this.generation = generation;
  }

  /** Instance `inst` started after series `id` was last matched: the series is matched against its query again. */
  bornSince(inst: number, id: number): boolean {
    return this.instances[inst].born > this.matchedGen[id];
  }

  private readonly forget = (id: number): void => {
    this.links.drop(id, this.release);
    this.labels?.release(id);
  };

  private readonly release = (inst: number, offset: number): void => {
    const s = this.instances[inst];
    if (s.scorer.isReady(s.state, offset)) s.ready--;
    s.freeOffsets.push(offset);
  };
}

function freshState(scorer: Scorer, born: number): InstanceState {
  return { slots: scorer.slots, scorer, state: new Float64Array(scorer.slots * 64), used: 0, freeOffsets: [], ready: 0, born };
}
