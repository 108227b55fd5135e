import { REMOTE_WRITE_HEADERS, VM_REMOTE_WRITE_HEADERS } from '../forward/downstream.js';
import { SnappyReader, snappyDecodedLength } from '../wire/snappy.js';
import { isZstd, Zstd, ZstdReader, zstdContentSize } from '../wire/zstd.js';

/**
 * Reads one request body into the uncompressed WriteRequest: the returned view is valid until
 * the next call on the same decompressor (each request in flight has its own). A body whose
 * decompressed size would pass `limit` is refused (DecodeError ANOM_DECODE_TOO_LARGE) before
 * that memory is taken; an unreadable one throws DecodeError with the encoding's code.
 *
 * For server.max_memory_bytes: `memoryBytes` is what the decompressor holds (its reused output
 * buffer, grown to wire/grow.ts bufferSize() of the decoded size: ingest takes the growth from the
 * budget before decompressing, from the encoding's announcedSize()).
 */
export interface Decompressor {
  decompress(body: Uint8Array, limit: number): Uint8Array;
  readonly memoryBytes: number;
}

/**
 * Memory every request slot's decompressor of one encoding shares (zstd's WebAssembly instance),
 * counted in server.max_memory_bytes once, by ingest (SharedDecoders).
 */
export interface SharedDecoder {
  /** Bytes it holds now. */
  readonly memoryBytes: number;
  /** True when it holds more than a fresh one (trim() would give memory back). */
  readonly grown: boolean;
  /** At most the bytes it will hold once a body of `bodyBytes` is decoded into `decodedBytes`. */
  memoryAfter(bodyBytes: number, decodedBytes: number): number;
  /** Give back the memory grown by large requests (the decoder starts afresh); returns the bytes given back. */
  trim(): number;
}

/** A Content-Encoding anomstream reads. */
export interface ContentEncoding {
  /** The header's value, lower case. */
  readonly name: string;
  /** True when a body starts with this encoding's magic number; null for one without (snappy). */
  readonly magic: ((body: Uint8Array) => boolean) | null;
  /**
   * The decoded size a body announces in its header, read without decompressing (for a memory
   * budget taken before decompressing); -1 when it announces none or the header is unreadable.
   */
  announcedSize(body: Uint8Array): number;
  /** A decompressor of its own for one request slot. */
  decompressor(): Decompressor;
  /** What those decompressors share, if anything (zstd: its decoder). */
  readonly shared?: SharedDecoder;
  /** Headers the raw body is forwarded with, unchanged. */
  readonly forwardHeaders: Record<string, string>;
  /**
   * Every remote write datasource reads it (snappy). When false (zstd), a datasource may not:
   * the raw forward (raw-forward.ts) then re-encodes the body as snappy.
   */
  readonly universal: boolean;
}

/**
 * Content-Encodings by name (as fastify's content-type parser keeps a Map); ingest decompresses
 * with the entry the body's first bytes pick. A new encoding is one more entry, added at start-up.
 */
export class ContentEncodings {
  private readonly byName = new Map<string, ContentEncoding>();
  private readonly withMagic: ContentEncoding[] = [];
  /** The first encoding without a magic number (snappy, remote write 1.0's); the constructor requires one. */
  private plain: ContentEncoding | undefined;

  constructor(...encodings: ContentEncoding[]) {
    for (const e of encodings) this.add(e);
    // pick() reads every body without a known magic number with it.
    if (this.plain === undefined) throw new Error('ContentEncodings: one encoding without a magic number (snappy) is needed');
  }

  add(e: ContentEncoding): void {
    this.byName.set(e.name, e);
    if (e.magic) this.withMagic.push(e);
    else this.plain ??= e;
  }

  get(name: string): ContentEncoding | undefined {
    return this.byName.get(name);
  }

  get all(): ContentEncoding[] {
    return [...this.byName.values()];
  }

  /**
   * The encoding to read `body` with, whatever its Content-Encoding header says, as
   * VictoriaMetrics does (1.79.5 snappy-decodes every remote write body; later versions go by the
   * zstd magic number): a body with zstd's magic number is zstd, any other snappy. vmagent's
   * persistent queue keeps blocks of either kind across a protocol switch (VictoriaMetrics issue
   * 5301), and a proxy on the way may rewrite the header; snappy bodies never start with those
   * bytes (their first element would be a copy of nothing). A body in a format we cannot read
   * is told apart first (foreignFormat), so it gets 415 naming it, not a snappy error.
   */
  pick(body: Uint8Array): ContentEncoding {
    for (const e of this.withMagic) if (e.magic!(body)) return e;
    return this.plain!;
  }
}

/**
 * Compressed formats a remote write sender might use by mistake, by their magic numbers: none of
 * them can start a valid snappy block (the byte after the length header would be a copy from
 * before the start), so recognising them costs no readable body anything.
 */
const FOREIGN: readonly { name: string; magic: readonly number[] }[] = [
  { name: 'gzip', magic: [0x1f, 0x8b] },
  { name: 'framed snappy (the stream format)', magic: [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59] },
  { name: 'lz4 frame', magic: [0x04, 0x22, 0x4d, 0x18] },
];

/** The name of the format `body` is in when it is one anomstream cannot read (gzip, ...), else null. */
export function foreignFormat(body: Uint8Array): string | null {
  next: for (const f of FOREIGN) {
    if (body.length < f.magic.length) continue;
    for (let i = 0; i < f.magic.length; i++) if (body[i] !== f.magic[i]) continue next;
    return f.name;
  }
  return null;
}

/** Remote write 1.0: the snappy block format. */
export const SNAPPY: ContentEncoding = {
  name: 'snappy',
  magic: null,
  announcedSize: snappyDecodedLength,
  decompressor: () => new SnappyReader(),
  forwardHeaders: REMOTE_WRITE_HEADERS,
  universal: true,
};

/**
 * VictoriaMetrics' remote write protocol (vmagent's default since 1.116; 1.88-1.115 after the
 * `?get_vm_proto_version=1` handshake): the same WriteRequest, zstd-compressed. Every request
 * slot decodes with one libzstd instance, made on first use (wire/zstd.ts ZstdReader): `shared`.
 */
export function zstdEncoding(): ContentEncoding {
  const shared = new Zstd();
  return {
    name: 'zstd',
    magic: isZstd,
    announcedSize: zstdContentSize,
    decompressor: () => new ZstdReader(shared),
    shared,
    forwardHeaders: VM_REMOTE_WRITE_HEADERS,
    universal: false,
  };
}

/** The encodings a proxy reads by default. */
export function defaultEncodings(): ContentEncodings {
  return new ContentEncodings(SNAPPY, zstdEncoding());
}
