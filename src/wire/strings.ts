/**
 * Label names and values decoded to strings once, not once per series: a direct-mapped cache
 * from UTF-8 bytes to the string TextDecoder made of them. A restore builds every series' label
 * Map (Scoring's labelMap(), for the selectors and the sink) — at a million series ~10 million
 * TextDecoder calls, ~15% of a restore — while a few hundred names and values make up most of
 * them (metric names, label names, a target's instance and job over its consecutive series).
 *
 * Bounded: SLOTS entries of at most MAX_BYTES bytes each (longer ones are decoded every time), a
 * miss replaces the slot's entry. A hit compares the bytes, so the string is always the one
 * `decode` gives for them.
 */
export class Utf8Strings {
  private readonly hashes = new Int32Array(SLOTS);
  private readonly lens = new Int32Array(SLOTS).fill(-1);
  private readonly bytes = new Uint8Array(SLOTS * MAX_BYTES);
  private readonly strings: string[] = new Array<string>(SLOTS).fill('');
  private readonly utf8 = new TextDecoder();

  /** buf[start, end) as a string (UTF-8, invalid sequences replaced as TextDecoder does). */
  get(buf: Uint8Array, start: number, end: number): string {
    const n = end - start;
    if (n > MAX_BYTES) return this.utf8.decode(buf.subarray(start, end));
    let h = 0x811c9dc5 ^ n;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    h ^= h >>> 15;
    const slot = h & (SLOTS - 1);
    const at = slot * MAX_BYTES;
    const b = this.bytes;
    if (this.hashes[slot] === h && this.lens[slot] === n) {
      let i = 0;
      while (i < n && b[at + i] === buf[start + i]) i++;
      if (i === n) return this.strings[slot];
    }
    const s = this.utf8.decode(buf.subarray(start, end));
    this.hashes[slot] = h;
    this.lens[slot] = n;
    for (let i = 0; i < n; i++) b[at + i] = buf[start + i];
    this.strings[slot] = s;
    return s;
  }
}

const SLOTS = 1 << 14;
const MAX_BYTES = 64;
