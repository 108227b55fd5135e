import type { WriteBatch } from '../ingest/write-request.js';
import { LabelStore } from './labels.js';

/** The most series whose labels are kept at once (~100-300 bytes each). */
const MAX_KEPT = 10_000;

/** A kept series' labels, as strings, and the tenant it was written to. */
export interface SeriesLabels {
  tenant: string | null;
  labels: [string, string][];
}

const utf8 = new TextDecoder();

/**
 * Labels of the series that scored above 1, for the status page. The series index keeps no
 * label strings (a million series would cost ~100 MB) and a request's bytes are reused once it
 * is scored, so the label bytes come from a LabelStore: the scoring state's own when snapshots
 * are on (every scored series' bytes are kept there already: nothing is copied twice), else one
 * of its own into which a series' Label entries are copied when it first scores above 1.
 * Strings are built from them only for the series a page shows (labels()). At most MAX_KEPT
 * series; the owner prunes those no longer anomalous (prune()) and forgets evicted ids
 * (forget()).
 */
export class KeptLabels {
  private readonly ids = new Set<number>();
  /** Bytes copied here when the scoring state keeps none (snapshots off); null otherwise. */
  private readonly own: LabelStore | null;

  /** `shared()`: the scoring state's label store now (null: snapshots off). */
  constructor(private readonly shared: () => LabelStore | null) {
    this.own = shared() === null ? new LabelStore() : null;
  }

  get full(): boolean {
    return this.ids.size >= MAX_KEPT;
  }

  has(id: number): boolean {
    return this.ids.has(id);
  }

  /** Keep the labels of series `s` of `b` (series id `id`); ignored when full. */
  keep(b: WriteBatch, s: number, id: number, tenant: string | null): void {
    if (this.full) return;
    this.own?.keep(id, b, s, tenant);
    this.ids.add(id);
  }

  forget(id: number): void {
    if (this.ids.delete(id)) this.own?.release(id);
  }

  /** Forget every series for which `stillWanted(id)` is false. */
  prune(stillWanted: (id: number) => boolean): void {
    for (const id of this.ids) if (!stillWanted(id)) this.forget(id);
  }

  /** The labels of series `id` (decoded now), or undefined when they were not kept. */
  labels(id: number): SeriesLabels | undefined {
    const store = this.own ?? this.shared();
    if (!this.ids.has(id) || store === null || !store.has(id)) return undefined;
    const bytes = new Uint8Array(store.lengthOf(id));
    store.copyTo(id, bytes, 0);
    return { tenant: store.tenants[store.tenantOf(id)], labels: decodeLabels(bytes) };
  }
}

/**
 * Label entries (`TimeSeries.labels`, field 1: `Label{1: name, 2: value}`) as [name, value]
 * pairs. The bytes passed the request decoder's checks; unknown fields are skipped by wire type.
 */
function decodeLabels(b: Uint8Array): [string, string][] {
  const out: [string, string][] = [];
  let p = 0;
  const varint = (): number => {
    let v = 0;
    for (let shift = 0; p < b.length; shift += 7) {
      const c = b[p++];
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) break;
    }
    return v;
  };
  const skip = (wireType: number): void => {
    if (wireType === 0) varint();
    else if (wireType === 1) p += 8;
    else if (wireType === 5) p += 4;
    else p += varint();
  };
  while (p < b.length) {
    const key = varint();
    if (key !== 0x0a) {
      skip(key & 7);
      continue;
    }
    const end = p + varint();
    let name = '';
    let value = '';
    while (p < end) {
      const k = varint();
      if (k === 0x0a || k === 0x12) {
        const len = varint();
        const s = utf8.decode(b.subarray(p, p + len));
        p += len;
        if (k === 0x0a) name = s;
        else value = s;
      } else skip(k & 7);
    }
    out.push([name, value]);
  }
  return out;
}
