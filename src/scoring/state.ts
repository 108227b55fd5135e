import { grown } from '../wire/grow.js';
import type { ScoringSpec } from './instances.js';
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
 * state) and each instance's model state. All typed arrays; nothing per series on the JS heap.
 * A snapshot walks exactly this: for every live id its links, for every link its instance's
 * slots at its offset.
 */
export class ScoringState {
  readonly index: SeriesIndex;
  readonly links = new Links();
  readonly instances: InstanceState[];

  constructor(spec: ScoringSpec, maxSeries: number) {
    this.index = new SeriesIndex(maxSeries);
    this.instances = spec.instances.map((i) => ({ slots: i.scorer.slots, state: new Float64Array(i.scorer.slots * 64), used: 0, freeOffsets: [] }));
  }

  /** A state offset in instance `inst` for a new series (its slots are not initialised). */
  allocate(inst: number): number {
    const s = this.instances[inst];
    const off = s.freeOffsets.length > 0 ? s.freeOffsets.pop()! : s.used++ * s.slots;
    s.state = grown(s.state, off + s.slots);
    return off;
  }

  /**
   * Forget series last seen before `before` (seconds, the index's clock): their ids, links and
   * state offsets are freed for new series. Returns how many were evicted.
   */
  evictIdle(before: number): number {
    return this.index.evictIdle(before, (id) => this.links.drop(id, this.release));
  }

  private readonly release = (inst: number, offset: number): void => {
    this.instances[inst].freeOffsets.push(offset);
  };
}
