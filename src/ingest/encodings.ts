import { REMOTE_WRITE_HEADERS } from '../forward/downstream.js';
import { SnappyReader } from '../wire/snappy.js';

/**
 * Reads one request body into the uncompressed WriteRequest: the returned view is valid until
 * the next call on the same decompressor (each request in flight has its own). A body whose
 * decompressed size would pass `limit` is refused (DecodeError ANOM_DECODE_TOO_LARGE) before
 * that memory is taken; an unreadable one throws DecodeError with the encoding's code.
 *
 * For server.max_memory_bytes: `memoryBytes` is what the decompressor holds (its reused buffers),
 * and `growthFor(body, limit)` what decompress(body, limit) would add to it, read from the
 * body's header (snappy's length varint, zstd's Frame_Content_Size) before decompressing. Without
 * growthFor, `limit` bytes are set aside for every decompress() and the excess given back after.
 */
export interface Decompressor {
  decompress(body: Uint8Array, limit: number): Uint8Array;
  readonly memoryBytes: number;
  growthFor?(body: Uint8Array, limit: number): number;
}

/** A Content-Encoding anomstream reads. */
export interface ContentEncoding {
  /** The header's value, lower case. */
  readonly name: string;
  /** A decompressor of its own for one request slot. */
  decompressor(): Decompressor;
  /** Headers the raw body is forwarded with, unchanged. */
  readonly forwardHeaders: Record<string, string>;
}

/**
 * Content-Encodings by name (as fastify's content-type parser keeps a Map): the receiver
 * answers 415 for any other, ingest decompresses with the entry's decompressor. A new
 * encoding (zstd) is one more entry, added at start-up.
 */
export class ContentEncodings {
  private readonly byName = new Map<string, ContentEncoding>();

  constructor(...encodings: ContentEncoding[]) {
    for (const e of encodings) this.add(e);
  }

  add(e: ContentEncoding): void {
    this.byName.set(e.name, e);
  }

  get(name: string): ContentEncoding | undefined {
    return this.byName.get(name);
  }

  get names(): string[] {
    return [...this.byName.keys()];
  }
}

/** Remote write 1.0: the snappy block format. */
export const SNAPPY: ContentEncoding = {
  name: 'snappy',
  decompressor: () => new SnappyReader(),
  forwardHeaders: REMOTE_WRITE_HEADERS,
};

/** The encodings a proxy reads by default. */
export function defaultEncodings(): ContentEncodings {
  return new ContentEncodings(SNAPPY);
}
