import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DecodeError } from '../errors.js';
import { bufferSize } from './grow.js';

/**
 * Zstandard decompressor for VictoriaMetrics' remote write protocol (vmagent 1.116+ sends the
 * WriteRequest zstd-compressed with `Content-Encoding: zstd`), with the Snappy class' contract:
 * decompress() returns a view into memory this instance owns and reuses, valid until the next
 * call on the same instance; corrupt input throws DecodeError ANOM_DECODE_ZSTD, output past
 * `limit` throws ANOM_DECODE_TOO_LARGE.
 *
 * The decoder is libzstd itself (zstd's single-file decoder compiled to WebAssembly, as shipped
 * in the npm package `zstddec`, pinned), driven through its C functions: zstddec's own wrapper
 * allocates and copies per call and does not check libzstd's error codes, so it is not used.
 * Measured in bench/zstd.ts (bench/RESULTS.md, CPU time, 7 KB-31 MB remote write bodies): 42-67 ns
 * per sample (1.8-3.0 GB/s), our snappy decoder 67-92, fzstd (pure JS) 278-770, the native
 * zstd-napi 24-49 at the cost of 39 packages and a C++ compile on install.
 *
 * Size limit, before anything is allocated: the frame headers' Frame_Content_Size (vmagent
 * always writes it: gozstd and klauspost's EncodeAll both do) is summed over the frames and
 * checked against `limit`, so a 1 GiB bomb costs a header read. A frame without it (the `zstd`
 * CLI reading a pipe) is decoded into a buffer that grows x4 from 16x the body up to `limit`
 * and is refused when it would need more: the output never exceeds `limit` bytes. One-shot
 * decoding uses the output as its window, so a huge Window_Size in a header allocates nothing.
 *
 * Memory: the WebAssembly instance keeps the largest body and output it has seen (like the
 * snappy buffer) and WebAssembly memory never shrinks, so the instance itself is replaced to give
 * it back: trim() (ingest calls it once the decoder has been idle for a while; the compiled
 * Module is cached, making a new instance costs ~1 ms). memoryAfter() bounds the growth of one
 * call beforehand, for server.max_memory_bytes. One instance at a time per Zstd object.
 */

/** libzstd's exports used here (zstddec 0.3.4's build; names are libzstd's C API). */
interface LibZstd {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(ptr: number): void;
  /** size_t: the decompressed size, or an error code (negative as a wasm32 i32). */
  ZSTD_decompress(dst: number, dstCapacity: number, src: number, srcSize: number): number;
  /** unsigned long long: sum of the frames' content sizes; -1n unknown, -2n invalid. */
  ZSTD_findDecompressedSize(src: number, srcSize: number): bigint;
}

const CONTENTSIZE_UNKNOWN = -1n;
/** ZSTD_error_dstSize_tooSmall (zstd_errors.h; codes are stable across libzstd versions). */
const DST_SIZE_TOO_SMALL = 70;
/** First guess of a frame without content size: 16x the body (remote write bodies: ~12x at level 3). */
const UNKNOWN_SIZE_RATIO = 16;
const MIN_GUESS = 256 * 1024;

/** Names of libzstd's error codes (zstd_errors.h), for messages. */
const ERROR_NAMES: Record<number, string> = {
  1: 'generic error',
  10: 'unknown frame descriptor (not zstd)',
  12: 'unsupported frame version',
  14: 'unsupported frame parameter',
  16: 'frame requires too much memory (window too large)',
  20: 'corrupted block detected',
  22: 'checksum mismatch',
  24: 'corrupted literals header',
  30: 'dictionary corrupted',
  32: 'dictionary mismatch (frame needs a dictionary)',
  64: 'allocation error',
  70: 'destination buffer too small',
  72: 'source size wrong (truncated or trailing bytes)',
};

let compiled: WebAssembly.Module | undefined;

/** libzstd's WebAssembly module, compiled once per process (59 KB; a few ms). */
function libzstdModule(): WebAssembly.Module {
  if (compiled) return compiled;
  // zstddec embeds the .wasm as a base64 string `wasm` in its ESM build; the pinned version and
  // test/unit/zstd.test.ts guard this layout.
  const file = createRequire(import.meta.url).resolve('zstddec/stream');
  const m = /\bwasm = "([A-Za-z0-9+/]+={0,2})"/.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`zstd: no WebAssembly decoder in ${file}: the zstddec package layout changed`);
  compiled = new WebAssembly.Module(Buffer.from(m[1], 'base64'));
  return compiled;
}

/** True when `src` starts with a zstd frame (28 b5 2f fd) or a skippable frame (5? 2a 4d 18). */
export function isZstd(src: Uint8Array): boolean {
  if (src.length < 4) return false;
  if (src[0] === 0x28 && src[1] === 0xb5 && src[2] === 0x2f && src[3] === 0xfd) return true;
  return (src[0] & 0xf0) === 0x50 && src[1] === 0x2a && src[2] === 0x4d && src[3] === 0x18;
}

/**
 * The decoded size `src` announces, read from its frame headers without decompressing (RFC 8878
 * 3.1.1: the sum of the frames' Frame_Content_Size; skippable frames count 0), for a memory
 * budget taken before decompressing: -1 when a frame does not carry it (the `zstd` CLI reading a
 * pipe) or the frames cannot be walked (decompress() then says why). Costs a walk over the
 * 3-byte block headers, not over the data.
 */
export function zstdContentSize(src: Uint8Array): number {
  const n = src.length;
  let total = 0;
  let p = 0;
  while (p < n) {
    if (p + 8 > n) return -1; // the smallest frame: magic, descriptor, one block header
    const magic = (src[p] | (src[p + 1] << 8) | (src[p + 2] << 16) | (src[p + 3] << 24)) >>> 0;
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      p += 8 + (src[p + 4] | (src[p + 5] << 8) | (src[p + 6] << 16)) + src[p + 7] * 0x1000000; // skippable frame
      continue;
    }
    if (magic !== 0xfd2fb528) return -1;
    // Frame_Header_Descriptor: FCS_Field_Size flag (2 bits), Single_Segment, unused, reserved,
    // Content_Checksum, Dictionary_ID flag (2 bits); then Window_Descriptor unless single segment.
    const fhd = src[p + 4];
    if (fhd & 0x08) return -1;
    const single = (fhd >>> 5) & 1;
    const fcsBytes = FCS_BYTES[fhd >>> 6] || single;
    if (fcsBytes === 0) return -1;
    let q = p + 5 + (1 - single) + DICT_ID_BYTES[fhd & 3];
    if (q + fcsBytes > n) return -1;
    let size = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + src[q + i];
    if (fcsBytes === 2) size += 256;
    total += size;
    q += fcsBytes;
    // Blocks: a 3-byte little-endian header (Last_Block, Block_Type 2 bits, Block_Size 21 bits).
    for (;;) {
      if (q + 3 > n) return -1;
      const bh = src[q] | (src[q + 1] << 8) | (src[q + 2] << 16);
      const type = (bh >>> 1) & 3;
      if (type === 3) return -1;
      q += 3 + (type === 1 ? 1 : bh >>> 3); // an RLE block holds one byte
      if (bh & 1) break;
    }
    p = q + 4 * ((fhd >>> 2) & 1); // Content_Checksum
  }
  return p === n ? total : -1;
}

/** Frame_Content_Size field bytes by FCS_Field_Size flag (flag 0: 1 byte if single segment, else none). */
const FCS_BYTES = [0, 2, 4, 8];
const DICT_ID_BYTES = [0, 1, 2, 4];

/** A fresh instance's memory (16 MiB: zstddec's initial memory), known once one was made. */
let freshBytes: number | undefined;
/**
 * What ZSTD_decompress may malloc besides our two regions: its decompression context (~160 KB:
 * entropy tables and the 128 KiB literals buffer) and allocator overhead, rounded up generously.
 */
const DCTX_BYTES = 1 << 20;
const WASM_PAGE = 64 * 1024;
/** A zstd frame of 0 bytes (`zstd --no-check` of empty input). */
const EMPTY_FRAME = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x00, 0x01, 0x00, 0x00);

/** A block of WebAssembly memory reused across calls, grown (never shrunk) to the largest size asked. */
interface Region {
  ptr: number;
  cap: number;
}

export class Zstd {
  /** The WebAssembly instance's exports; made on first use, replaced by trim(). */
  private lib: LibZstd | undefined;
  private heap = new Uint8Array(0);
  private readonly src: Region = { ptr: 0, cap: 0 };
  private readonly dst: Region = { ptr: 0, cap: 0 };

  /** The instance, made now if there is none (instantiating the cached Module: ~0.5-1 ms, bench/RESULTS.md issue 17). */
  private instance(): LibZstd {
    if (this.lib !== undefined) return this.lib;
    const imports = { env: { emscripten_notify_memory_growth: (): void => void (this.heap = new Uint8Array(this.lib!.memory.buffer)) } };
    const lib = new WebAssembly.Instance(libzstdModule(), imports).exports as unknown as LibZstd;
    this.lib = lib;
    this.heap = new Uint8Array(lib.memory.buffer);
    freshBytes ??= lib.memory.buffer.byteLength;
    return lib;
  }

  /** Bytes of WebAssembly memory this decoder holds (0 before its first use). */
  get memoryBytes(): number {
    return this.lib === undefined ? 0 : this.lib.memory.buffer.byteLength;
  }

  /** True when its memory grew past a fresh instance's (trim() gives the difference back). */
  get grown(): boolean {
    return this.memoryBytes > (freshBytes ?? 0);
  }

  /**
   * At most the bytes memoryBytes will be once a body of `bodyBytes` is decompressed into
   * `decodedBytes` (0: refused before its output is allocated), for a memory budget taken before
   * the memory grows: what it holds (a fresh instance's when it has none), plus each region that
   * must grow, plus libzstd's decompression context, in whole 64 KiB pages.
   */
  memoryAfter(bodyBytes: number, decodedBytes: number): number {
    let n = this.lib === undefined ? (freshBytes ?? this.instance().memory.buffer.byteLength) : this.memoryBytes;
    if (bodyBytes > this.src.cap) n += bodyBytes;
    if (decodedBytes > this.dst.cap) n += decodedBytes;
    return Math.ceil((n + DCTX_BYTES) / WASM_PAGE) * WASM_PAGE;
  }

  /**
   * Replace the instance by a fresh one when its memory grew past a fresh one's (WebAssembly
   * memory never shrinks: this is how a burst's memory goes back). Returns the bytes given back (0
   * when nothing was). The new instance is used once at once, on an empty frame: until this
   * class' call sites have called into a new instance, their feedback keeps the old one and its
   * memory alive (measured: a dropped 32 MiB instance stayed resident through full collections
   * until the next call). A view decompress() returned stays readable but is no longer this decoder's.
   */
  trim(): number {
    if (!this.grown) return 0;
    const held = this.memoryBytes;
    this.lib = undefined;
    this.heap = new Uint8Array(0);
    this.src.ptr = this.src.cap = this.dst.ptr = this.dst.cap = 0;
    this.decompress(EMPTY_FRAME, 0);
    return held - this.memoryBytes;
  }

  decompress(src: Uint8Array, limit: number): Uint8Array {
    const lib = this.instance();
    // Sizes travel as wasm32 size_t (errors are negative as i32): nothing past 2 GiB.
    limit = Math.min(limit, 0x7fffffff);
    const n = src.length;
    this.ensure(this.src, n);
    this.heap.set(src, this.src.ptr);
    const total = lib.ZSTD_findDecompressedSize(this.src.ptr, n);
    if (total === CONTENTSIZE_UNKNOWN) return this.decompressUnknown(n, limit);
    if (total < 0n) throw new DecodeError('ANOM_DECODE_ZSTD', 'zstd: not a valid zstd frame (bad magic, header or block sizes)');
    if (total > BigInt(limit)) throw new DecodeError('ANOM_DECODE_TOO_LARGE', `zstd: frame content size ${total} exceeds the limit ${limit}`);
    const size = Number(total);
    this.ensure(this.dst, size);
    const r = lib.ZSTD_decompress(this.dst.ptr, size, this.src.ptr, n);
    if (r < 0) throw zstdError(-r);
    if (r !== size) throw new DecodeError('ANOM_DECODE_ZSTD', `zstd: decompressed ${r} bytes, frame headers announced ${size}`);
    return this.heap.subarray(this.dst.ptr, this.dst.ptr + r);
  }

  /** A frame without Frame_Content_Size: decode into a buffer that grows up to `limit`. */
  private decompressUnknown(n: number, limit: number): Uint8Array {
    let cap = Math.min(limit, Math.max(MIN_GUESS, n * UNKNOWN_SIZE_RATIO));
    for (;;) {
      this.ensure(this.dst, cap);
      const r = this.lib!.ZSTD_decompress(this.dst.ptr, cap, this.src.ptr, n);
      if (r >= 0) return this.heap.subarray(this.dst.ptr, this.dst.ptr + r);
      if (-r !== DST_SIZE_TOO_SMALL) throw zstdError(-r);
      if (cap >= limit) throw new DecodeError('ANOM_DECODE_TOO_LARGE', `zstd: decompressed size exceeds the limit ${limit} (frame without content size)`);
      cap = Math.min(limit, cap * 4);
    }
  }

  /** Grows `r` to at least `size` bytes (its old contents are not kept). */
  private ensure(r: Region, size: number): void {
    if (size <= r.cap) return;
    const old = r.ptr;
    r.ptr = r.cap = 0;
    const lib = this.instance();
    if (old !== 0) lib.free(old);
    const p = lib.malloc(Math.max(1, size));
    if (p === 0) throw new Error(`zstd: cannot allocate ${size} bytes of WebAssembly memory`);
    r.ptr = p;
    r.cap = size;
    this.heap = new Uint8Array(lib.memory.buffer);
  }
}

function zstdError(code: number): DecodeError {
  return new DecodeError('ANOM_DECODE_ZSTD', `zstd: ${ERROR_NAMES[code] ?? 'error'} (libzstd error ${code})`);
}

/**
 * A zstd decompressor for one request slot, with the Snappy reader's contract (the returned view
 * is valid until this reader's next call): it decodes with a Zstd shared by every slot (decoding
 * is synchronous, so slots never interleave on it) and copies the output into a buffer of its
 * own, grown like the snappy reader's. One WebAssembly instance per process instead of one per
 * slot (each reserves 16 MiB and keeps its largest body and output); the copy costs a memcpy of
 * the decoded bytes (bench/zstd.ts: `ZstdReader` row).
 */
export class ZstdReader {
  private buf = new Uint8Array(64 * 1024);

  constructor(private readonly zstd: Zstd) {}

  /** Bytes this reader holds (its output buffer; the shared Zstd's WebAssembly memory is counted once, by its owner: ingest's SharedDecoders). */
  get memoryBytes(): number {
    return this.buf.length;
  }

  decompress(src: Uint8Array, limit: number): Uint8Array {
    const out = this.zstd.decompress(src, limit);
    if (this.buf.length < out.length) this.buf = new Uint8Array(bufferSize(out.length));
    this.buf.set(out);
    return this.buf.subarray(0, out.length);
  }
}
