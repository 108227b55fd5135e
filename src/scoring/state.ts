import type { Scorer } from '../models/scorer.js';
import { grown } from '../wire/grow.js';
import type { ScoringSpec } from './instances.js';
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
    this.instances = spec.instances.map((i) => freshState(i.scorer));
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
   * state offsets are freed for new series; `onEvict(id)` runs for each. Returns how many.
   */
  evictIdle(before: number, onEvict?: (id: number) => void): number {
    return this.index.evictIdle(before, (id) => {
      this.links.drop(id, this.release);
      onEvict?.(id);
    });
  }

  private readonly release = (inst: number, offset: number): void => {
    const s = this.instances[inst];
    if (s.scorer.isReady(s.state, offset)) s.ready--;
    s.freeOffsets.push(offset);
  };
}

function freshState(scorer: Scorer): InstanceState {
  return { slots: scorer.slots, scorer, state: new Float64Array(scorer.slots * 64), used: 0, freeOffsets: [], ready: 0 };
}
