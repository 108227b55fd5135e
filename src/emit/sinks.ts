import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { REMOTE_WRITE_HEADERS, type Downstream, type PostResult } from '../forward/downstream.js';
import { importPath, writePath } from '../forward/paths.js';
import type { Registry } from '../metrics/registry.js';
import { SnappyReader } from '../wire/snappy.js';
import { writeRequestToJsonLines } from './json-lines.js';
import { RetryingSink } from './retrying-sink.js';

/**
 * Where a finished block of generated series goes: one snappy-compressed WriteRequest for one
 * tenant. `body` is the sink's until the returned promise settles; then its buffer is reused for
 * the next block, so a sink that keeps a body longer (the retrying sink, a durable one) copies
 * it. The promise settles with the outcome of the attempt that settled it.
 */
export interface GeneratedSink {
  /** Transport name for logs: 'remote_write', 'import_json', ... */
  readonly name: string;
  send(tenant: string | null, body: Uint8Array): Promise<PostResult>;
  /** A sink that holds blocks (retrying, durable): send what it holds until `deadlineMs` (wall clock), drop the rest (shutdown). */
  flush?(deadlineMs: number): Promise<void>;
}

/** remote_write to the tenant's write path, like the raw data (the default). */
export class RemoteWriteSink implements GeneratedSink {
  readonly name = 'remote_write';
  constructor(private readonly downstream: Downstream) {}

  send(tenant: string | null, body: Uint8Array): Promise<PostResult> {
    return this.downstream.post(writePath(tenant), body, REMOTE_WRITE_HEADERS);
  }
}

/**
 * JSON lines to writer.import_json_path (under `/insert/<tenant>/prometheus` for a cluster
 * tenant), what vmanomaly's VmWriter always does, so a pasted vmanomaly writer block keeps its
 * meaning. The block is decompressed (into a reused buffer, read before the first await) and
 * re-encoded: a cost paid only in this mode.
 */
export class JsonLinesSink implements GeneratedSink {
  readonly name = 'import_json';
  private readonly snappy = new SnappyReader();

  constructor(
    private readonly downstream: Downstream,
    private readonly path: string,
  ) {}

  send(tenant: string | null, body: Uint8Array): Promise<PostResult> {
    const lines = Buffer.from(writeRequestToJsonLines(this.snappy.decompress(body, Number.MAX_SAFE_INTEGER)), 'utf8');
    return this.downstream.post(importPath(tenant, this.path), lines, JSON_HEADERS);
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/**
 * The generated sink the writer section asks for: JSON lines when `import_json_path` is
 * present, else remote_write; wrapped in a RetryingSink (connection_retry_attempts resends,
 * then retries with backoff within generated_buffer_bytes). A new transport is one more
 * GeneratedSink and one more case here; a durable sink would wrap the one chosen here too.
 */
export function generatedSinkFor(w: Config['writer'], downstream: Downstream, registry: Registry, log: Logger): RetryingSink {
  const sink = w.import_json_path !== undefined ? new JsonLinesSink(downstream, w.import_json_path) : new RemoteWriteSink(downstream);
  return new RetryingSink(sink, { connectionRetries: w.connection_retry_attempts, budgetBytes: w.generated_buffer_bytes, registry, log });
}
