import type { Config } from '../config/schema.js';
import { REMOTE_WRITE_HEADERS, type Downstream, type PostResult } from '../forward/downstream.js';
import { importPath, writePath } from '../forward/paths.js';
import { SnappyReader } from '../wire/snappy.js';
import { writeRequestToJsonLines } from './json-lines.js';

/**
 * Where a finished block of generated series goes: one snappy-compressed WriteRequest for one
 * tenant. `body` is the sink's until the returned promise settles; then its buffer is reused for
 * the next block, so a sink that keeps a body longer (a retrying or durable sink) copies it.
 * The promise settles with the final outcome of this body (a retrying sink settles when it gives
 * up or succeeds); the Emitter counts what does not end 'accepted'.
 */
export interface GeneratedSink {
  /** Transport name for logs: 'remote_write', 'import_json', ... */
  readonly name: string;
  send(tenant: string | null, body: Uint8Array): Promise<PostResult>;
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
 * present, else remote_write. A new transport is one more GeneratedSink and one more case here;
 * a retrying or durable sink wraps the one chosen here.
 */
export function generatedSinkFor(w: Config['writer'], downstream: Downstream): GeneratedSink {
  if (w.import_json_path !== undefined) return new JsonLinesSink(downstream, w.import_json_path);
  return new RemoteWriteSink(downstream);
}
