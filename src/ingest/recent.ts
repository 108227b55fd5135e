import { hashBytes, type Hash64 } from '../wire/hash.js';

/** Bodies remembered: a ring of 65,536 x 16 B (hash, time) + a table of 4 x 65,536 int32 = 2 MB, fixed. */
const CAPACITY = 1 << 16;
/** ... for at most this long. vmagent and Prometheus resend a block within a minute or two. */
const WINDOW_MS = 5 * 60_000;

/**
 * Fingerprints of the request bodies accepted (and scored) lately, to recognise a retry: a
 * sender resends the very same bytes when our 204 did not reach it (a timeout, a reset), and
 * those samples were scored already. Learning them twice is prevented per series anyway (not
 * after the newest point); this is what keeps a retry from being *scored* twice when it comes
 * back after newer data was learned, which would give one timestamp two anomaly_scores.
 *
 * A fingerprint is a 64-bit hash of the compressed body (wire/hash.ts, ~0.3 ns a byte: a
 * 2,000-sample body of ~20 KB costs ~6 us). The last CAPACITY fingerprints are kept in a ring,
 * indexed by an open-addressing table; older than WINDOW_MS counts as unseen. Two different
 * bodies share a fingerprint with probability ~n^2/2^65 (n = 65,536: 1e-10); that would skip
 * one request's scores, never its raw data.
 */
export class RecentRequests {
  private readonly h1 = new Uint32Array(CAPACITY);
  private readonly h2 = new Uint32Array(CAPACITY);
  private readonly at = new Float64Array(CAPACITY);
  /** Next ring slot to fill; entries [0, filled) are valid. */
  private next = 0;
  private filled = 0;
  /** Ring slot + 1 per table slot (0: empty); linear probing, rebuilt as the ring turns over. */
  private readonly table = new Int32Array(CAPACITY * 4);
  private readonly mask = CAPACITY * 4 - 1;
  private readonly key: Hash64 = { h1: 0, h2: 0 };

  /** True when an identical body was recorded within the window; otherwise records this one. */
  seen(body: Uint8Array, nowMs: number): boolean {
    const key = this.key;
    hashBytes(body, new DataView(body.buffer, body.byteOffset, body.byteLength), 0, body.length, body.length, key);
    const t = this.table;
    let i = key.h1 & this.mask;
    for (; t[i] !== 0; i = (i + 1) & this.mask) {
      const r = t[i] - 1;
      if (this.h1[r] === key.h1 && this.h2[r] === key.h2 && nowMs - this.at[r] <= WINDOW_MS) return true;
    }
    this.record(key, nowMs);
    return false;
  }

  private record(key: Hash64, nowMs: number): void {
    const r = this.next;
    if (this.filled === CAPACITY) this.unlink(r);
    else this.filled++;
    this.h1[r] = key.h1;
    this.h2[r] = key.h2;
    this.at[r] = nowMs;
    let i = key.h1 & this.mask;
    while (this.table[i] !== 0) i = (i + 1) & this.mask;
    this.table[i] = r + 1;
    this.next = (r + 1) % CAPACITY;
  }

  /** Take ring slot r out of the table (backward-shift deletion, so lookups need no tombstones). */
  private unlink(r: number): void {
    const t = this.table;
    const mask = this.mask;
    let i = this.h1[r] & mask;
    while (t[i] !== r + 1) i = (i + 1) & mask;
    for (let j = (i + 1) & mask; t[j] !== 0; j = (j + 1) & mask) {
      const home = this.h1[t[j] - 1] & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (!stays) {
        t[i] = t[j];
        i = j;
      }
    }
    t[i] = 0;
  }
}
