import { grown } from '../wire/grow.js';
import type { ScoringSpec } from './instances.js';
import { LabelStore } from './labels.js';
import { Links } from './links.js';
import { SeriesIndex } from './series-index.js';

/** Model state of one instance (query x model): one columnar Float64Array, `slots` per series. */
export interface InstanceState {
  readonly slots: number;
  state: Float64Array;
  /** Series states ever allocated (offsets below used * slots are live or free). */
  used: number;
  /** State offsets of evicted series, reused before `used` grows. */
  readonly freeOffsets: number[];
}

/**
 * Everything the scoring unit keeps between requests, in one place: the series index (series
 * -> id), the links (id -> the instances scoring it, each with its state offset and transform
 * state), each instance's model state and, when snapshots are on, each scored series' label
 * bytes and tenant. All typed arrays; nothing per series on the JS heap. A snapshot
 * (snapshot-write.ts) walks exactly this: for every id with labels its links, for every link
 * its instance's slots at its offset; a restore fills it through the same allocate/add paths
 * as a new series.
 */
export class ScoringState {
  readonly index: SeriesIndex;
  readonly links = new Links();
  readonly instances: InstanceState[];
  /** Label bytes and tenant per scored series; null when snapshots are off (nothing to key them by). */
  readonly labels: LabelStore | null;

  constructor(spec: ScoringSpec, maxSeries: number, keepLabels: boolean) {
    this.index = new SeriesIndex(maxSeries);
    this.instances = spec.instances.map((i) => ({ slots: i.scorer.slots, state: new Float64Array(i.scorer.slots * 64), used: 0, freeOffsets: [] }));
    this.labels = keepLabels ? new LabelStore() : null;
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
   * state offsets and label bytes are freed for new series. Returns how many were evicted.
   */
  evictIdle(before: number): number {
    return this.index.evictIdle(before, this.forget);
  }

  private readonly forget = (id: number): void => {
    this.links.drop(id, this.release);
    this.labels?.release(id);
  };

  private readonly release = (inst: number, offset: number): void => {
    this.instances[inst].freeOffsets.push(offset);
  };
}
