/**
 * Unsigned LEB128 varints, as protobuf and the snappy length header write them, for integers
 * below 2^53 (timestamps in ms since 1970 fit). The readers of the hot path keep their own
 * unrolled loops (WriteRequestDecoder.varint, SnappyReader's header): they throw their own
 * coded errors and advance their own position.
 */

/** Bytes of the varint of n. */
export function varintLen(n: number): number {
  let len = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Write the varint of n at b[p..); returns the position after it. */
export function writeVarint(b: Uint8Array, p: number, n: number): number {
  if (n >= 0x10000000) {
    // Above 28 bits (timestamps): the low 28 bits, then the rest (< 2^25), with integer ops
    // (a division and a multiplication: `%` on a double is a call to fmod, measured ~10x slower).
    let hi = Math.floor(n / 0x10000000);
    const lo = n - hi * 0x10000000;
    b[p++] = (lo & 0x7f) | 0x80;
    b[p++] = ((lo >>> 7) & 0x7f) | 0x80;
    b[p++] = ((lo >>> 14) & 0x7f) | 0x80;
    b[p++] = ((lo >>> 21) & 0x7f) | 0x80;
    while (hi >= 128) {
      b[p++] = (hi & 0x7f) | 0x80;
      hi >>>= 7;
    }
    b[p++] = hi;
    return p;
  }
  while (n >= 128) {
    b[p++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  b[p++] = n;
  return p;
}
