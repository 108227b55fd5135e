import type { SeriesLabels } from './kept-labels.js';
import type { Scoring } from './scoring.js';

/** A (series, query x model) pair that scored above 1 recently. */
export interface AnomalousSeries {
  /** Index into the spec's instances. */
  inst: number;
  /** Its highest score of the last request that had one above 1. */
  score: number;
  /** When that request was scored (seconds since the epoch). */
  at: number;
  /** Undefined when they could not be kept (KeptLabels full). */
  labels: SeriesLabels | undefined;
}

export interface AnomalousNow {
  /** At most k pairs, highest score first. */
  top: AnomalousSeries[];
  /** Per instance: how many of its series scored above 1 since `sinceSec`. */
  perInstance: Int32Array;
}

/**
 * The pairs that scored above 1 at or after `sinceSec`, for the status page: one pass over the
 * links (O(series + links): ~10 ms at a million series, so the page caches it), the k highest
 * kept in a sorted array of k. Label strings are decoded for those k only. Kept labels of series
 * no longer anomalous are dropped on the way.
 */
export function anomalousNow(scoring: Scoring, sinceSec: number, k: number): AnomalousNow {
  const links = scoring.state.links;
  const perInstance = new Int32Array(scoring.spec.instances.length);
  const ids: number[] = [];
  const links_: number[] = [];
  const scores: number[] = [];
  for (let id = 0; id < links.first.length; id++) {
    for (let l = links.first[id]; l >= 0; l = links.next[l]) {
      if (links.aboveAt[l] < sinceSec || !(links.aboveScore[l] > 1)) continue;
      perInstance[links.inst[l]]++;
      const score = links.aboveScore[l];
      if (scores.length === k && score <= scores[k - 1]) continue;
      let i = scores.length === k ? k - 1 : scores.length;
      while (i > 0 && scores[i - 1] < score) {
        scores[i] = scores[i - 1];
        ids[i] = ids[i - 1];
        links_[i] = links_[i - 1];
        i--;
      }
      scores[i] = score;
      ids[i] = id;
      links_[i] = l;
    }
  }
  scoring.kept.prune((id) => {
    for (let l = links.first[id]; l >= 0; l = links.next[l]) if (links.aboveAt[l] >= sinceSec) return true;
    return false;
  });
  const top = scores.map((score, i) => ({ inst: links.inst[links_[i]], score, at: links.aboveAt[links_[i]], labels: scoring.kept.labels(ids[i]) }));
  return { top, perInstance };
}
