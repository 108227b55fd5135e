/**
 * General snappy block compressor (block format, not framed: what remote write 1.0 sends), for
 * bodies that must be re-encoded as snappy, e.g. a zstd body for a datasource that reads only
 * snappy. The algorithm and output are those of Go's snappy `encodeBlock` (encode_other.go, which
 * vmagent uses) and of the reference C++ compressor:
 *
 *   - input cut into 64 KiB blocks, each compressed alone (offsets < 65536: 1- and 2-byte forms);
 *   - per block, a hash table of 4-byte sequences (hash = (u32 * 0x1e35a7bd) >>> shift, table of
 *     256..16384 uint16 positions, sized to the block) proposes one candidate per position;
 *   - no match: skip ahead faster the longer nothing matched (`skip >>> 5` bytes per probe after
 *     32 misses), so incompressible data costs little;
 *   - a match is extended 4 bytes at a time, emitted as copies of at most 64 bytes, and the two
 *     positions before the next probe are hashed so that runs of matches chain.
 *
 * The hash table and the output buffer are reused: no allocation per call beyond the output
 * (compress() returns a fresh exact-size copy, compressView() a view valid until the next call).
 *
 * Format of an element (tag = low 2 bits of its first byte):
 *   00 literal: length-1 in the upper 6 bits (60, 61: 1 or 2 little-endian length bytes follow)
 *   01 copy, length 4..11, offset < 2048: (offset >> 8) << 5 | (length - 4) << 2, offset & 0xff
 *   10 copy, length 1..64, offset < 65536: (length - 1) << 2, offset as LE16
 */

const MAX_BLOCK = 65536;
const MAX_TABLE_BITS = 14;
/** Bytes at a block's end never starting a match (Go's inputMargin): reads of 8 stay inside. */
const INPUT_MARGIN = 16 - 1;
/** Blocks shorter than this are one literal (Go's minNonLiteralBlockSize). */
const MIN_NON_LITERAL_BLOCK = 1 + 1 + INPUT_MARGIN;

/** Largest block snappy may produce for `n` input bytes (Go's MaxEncodedLen). */
export function maxCompressedLength(n: number): number {
  return 32 + n + Math.floor(n / 6);
}

/** Bytes of a compressor's hash table. */
const TABLE_BYTES = (1 << MAX_TABLE_BITS) * Uint16Array.BYTES_PER_ELEMENT;

/** The output buffer's length after compressing `n` bytes into one of `length` (grown by doubling, as little as fits). */
function outLength(length: number, n: number): number {
  const need = maxCompressedLength(n);
  return length >= need ? length : Math.max(need, length * 2);
}

export class SnappyCompressor {
  private readonly table = new Uint16Array(1 << MAX_TABLE_BITS);
  private out = new Uint8Array(0);

  /**
   * The bytes `c` (undefined: a compressor not made yet) holds once it has compressed `n` bytes:
   * its hash table and output buffer, for a memory budget taken before the buffer grows.
   */
  static memoryAfter(c: SnappyCompressor | undefined, n: number): number {
    return TABLE_BYTES + outLength(c === undefined ? 0 : c.out.length, n);
  }

  /** Bytes it holds: hash table and output buffer (grown to the largest input's bound). */
  get memoryBytes(): number {
    return TABLE_BYTES + this.out.length;
  }

  /** `src` snappy-compressed, in a new Uint8Array of exactly its length (for bodies sent later). */
  compress(src: Uint8Array): Uint8Array {
    return this.compressView(src).slice();
  }

  /** `src` snappy-compressed, as a view into a reused buffer: valid until the next call. */
  compressView(src: Uint8Array): Uint8Array {
    const size = outLength(this.out.length, src.length);
    if (size !== this.out.length) this.out = new Uint8Array(size);
    const dst = this.out;
    let d = 0;
    let n = src.length;
    while (n >= 0x80) {
      dst[d++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    dst[d++] = n;
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    for (let start = 0; start < src.length; start += MAX_BLOCK) {
      const end = Math.min(start + MAX_BLOCK, src.length);
      d = end - start < MIN_NON_LITERAL_BLOCK ? emitLiteral(dst, d, src, start, end) : this.block(src, view, start, end, dst, d);
    }
    return dst.subarray(0, d);
  }

  /** Compresses src[start, end) (at most 64 KiB) into dst at d; returns the new d. */
  private block(src: Uint8Array, view: DataView, start: number, end: number, dst: Uint8Array, d: number): number {
    const len = end - start;
    let shift = 32 - 8;
    let tableSize = 1 << 8;
    while (tableSize < 1 << MAX_TABLE_BITS && tableSize < len) {
      tableSize *= 2;
      shift--;
    }
    const table = this.table;
    table.fill(0, 0, tableSize);
    // Positions in the table are relative to `start` (uint16); s, candidate, nextEmit absolute.
    const sLimit = end - INPUT_MARGIN;
    let nextEmit = start;
    let s = start + 1;
    let nextHash = Math.imul(view.getInt32(s, true), 0x1e35a7bd) >>> shift;
    for (;;) {
      // Look for a 4-byte match, probing less often the longer nothing matched.
      let skip = 32;
      let nextS = s;
      let candidate: number;
      do {
        s = nextS;
        const step = skip >>> 5;
        nextS = s + step;
        skip += step;
        if (nextS > sLimit) return nextEmit < end ? emitLiteral(dst, d, src, nextEmit, end) : d;
        candidate = start + table[nextHash];
        table[nextHash] = s - start;
        nextHash = Math.imul(view.getInt32(nextS, true), 0x1e35a7bd) >>> shift;
      } while (view.getInt32(s, true) !== view.getInt32(candidate, true));
      d = emitLiteral(dst, d, src, nextEmit, s);
      // Emit copies while the bytes right after a copy match again.
      for (;;) {
        const base = s;
        let i = candidate + 4;
        s += 4;
        while (s + 4 <= end && view.getInt32(s, true) === view.getInt32(i, true)) {
          s += 4;
          i += 4;
        }
        while (s < end && src[s] === src[i]) {
          s++;
          i++;
        }
        d = emitCopy(dst, d, base - candidate, s - base);
        nextEmit = s;
        if (s >= sLimit) return nextEmit < end ? emitLiteral(dst, d, src, nextEmit, end) : d;
        // Index s - 1, then try s itself against its candidate.
        table[Math.imul(view.getInt32(s - 1, true), 0x1e35a7bd) >>> shift] = s - 1 - start;
        const h = Math.imul(view.getInt32(s, true), 0x1e35a7bd) >>> shift;
        candidate = start + table[h];
        table[h] = s - start;
        if (view.getInt32(s, true) !== view.getInt32(candidate, true)) {
          nextHash = Math.imul(view.getInt32(s + 1, true), 0x1e35a7bd) >>> shift;
          s++;
          break;
        }
      }
    }
  }
}

/** Literal src[from, to) (at most 64 KiB) at dst[d]; returns the new d. */
function emitLiteral(dst: Uint8Array, d: number, src: Uint8Array, from: number, to: number): number {
  const len = to - from;
  if (len === 0) return d;
  const m = len - 1;
  if (m < 60) dst[d++] = m << 2;
  else if (m < 256) {
    dst[d++] = 60 << 2;
    dst[d++] = m;
  } else {
    dst[d++] = 61 << 2;
    dst[d++] = m & 0xff;
    dst[d++] = m >>> 8;
  }
  if (len > 32) dst.set(src.subarray(from, to), d);
  else for (let k = 0; k < len; k++) dst[d + k] = src[from + k];
  return d + len;
}

/** Copy of `length` bytes from `offset` back (offset < 65536) at dst[d]; returns the new d. */
function emitCopy(dst: Uint8Array, d: number, offset: number, length: number): number {
  const lo = offset & 0xff;
  const hi = offset >>> 8;
  // Lengths past 64 are cut into 64s, keeping the remainder >= 4 (a 60 first when 64 < rest < 68).
  while (length >= 68) {
    dst[d++] = (63 << 2) | 2;
    dst[d++] = lo;
    dst[d++] = hi;
    length -= 64;
  }
  if (length > 64) {
    dst[d++] = (59 << 2) | 2;
    dst[d++] = lo;
    dst[d++] = hi;
    length -= 60;
  }
  if (length >= 12 || offset >= 2048) {
    dst[d++] = ((length - 1) << 2) | 2;
    dst[d++] = lo;
    dst[d++] = hi;
    return d;
  }
  dst[d++] = (hi << 5) | ((length - 4) << 2) | 1;
  dst[d++] = lo;
  return d;
}
