import { LabelInt, type WriteBatch } from '../ingest/write-request.js';

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
 * is scored, so when a series first scores above 1 its Label entries are copied as they are on
 * the wire: one slice of the request (WriteBatch.lblStart..lblEnd; entry by entry, from the
 * decoder's LabelInt.EntryStart..EntryEnd ranges, when the entries are not contiguous). Strings
 * are built from them only for the series a page shows (labels()). At most MAX_KEPT series;
 * the owner prunes those no longer anomalous (prune()) and forgets evicted ids (forget()).
 */
export class KeptLabels {
  private readonly byId = new Map<number, { bytes: Uint8Array; tenant: string | null }>();

  get full(): boolean {
    return this.byId.size >= MAX_KEPT;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Copy the Label entries of series `s` of `b` (series id `id`); ignored when full. */
  keep(b: WriteBatch, s: number, id: number, tenant: string | null): void {
    if (this.full) return;
    let bytes: Uint8Array;
    if (b.lblStart[s] >= 0) bytes = b.buf.slice(b.lblStart[s], b.lblEnd[s]);
    else {
      b.labels(s);
      const first = b.lblFirst[s];
      const last = first + b.lblCount[s];
      let n = 0;
      for (let j = first; j < last; j++) n += b.lbl[LabelInt.Count * j + LabelInt.EntryEnd] - b.lbl[LabelInt.Count * j + LabelInt.EntryStart];
      bytes = new Uint8Array(n);
      n = 0;
      for (let j = first; j < last; j++) {
        const e = b.buf.subarray(b.lbl[LabelInt.Count * j + LabelInt.EntryStart], b.lbl[LabelInt.Count * j + LabelInt.EntryEnd]);
        bytes.set(e, n);
        n += e.length;
      }
    }
    this.byId.set(id, { bytes, tenant });
  }

  forget(id: number): void {
    this.byId.delete(id);
  }

  /** Forget every series for which `stillWanted(id)` is false. */
  prune(stillWanted: (id: number) => boolean): void {
    for (const id of this.byId.keys()) if (!stillWanted(id)) this.byId.delete(id);
  }

  /** The labels of series `id` (decoded now), or undefined when they were not kept. */
  labels(id: number): SeriesLabels | undefined {
    const k = this.byId.get(id);
    return k === undefined ? undefined : { tenant: k.tenant, labels: decodeLabels(k.bytes) };
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
