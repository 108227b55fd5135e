/**
 * A fixed set of label names, matched against a name's bytes on the wire without decoding it:
 * the generated labels that replace an input label (emit/plans.ts), `reader.ignore_labels`
 * (scoring/series-index.ts), the labels vmagent's shardByURL hashes or skips (scoring/hashmod.ts).
 * A bit mask of the names' lengths answers most non-members with one shift.
 */
export class LabelNames {
  private readonly bytes: Uint8Array[];
  /** Bit k set: some name has k bytes (names of 32 bytes or more are always compared). */
  private readonly lengths: number;

  constructor(names: readonly string[]) {
    const te = new TextEncoder();
    this.bytes = [...new Set(names)].map((n) => te.encode(n));
    let lengths = 0;
    for (const n of this.bytes) lengths |= n.length < 32 ? 1 << n.length : 0;
    this.lengths = lengths;
  }

  /** Is b[start, end) one of the names? */
  has(b: Uint8Array, start: number, end: number): boolean {
    const len = end - start;
    if (len < 32 && ((this.lengths >>> len) & 1) === 0) return false;
    const r = this.bytes;
    outer: for (let k = 0; k < r.length; k++) {
      const name = r[k];
      if (name.length !== len) continue;
      for (let i = 0; i < len; i++) if (name[i] !== b[start + i]) continue outer;
      return true;
    }
    return false;
  }
}
