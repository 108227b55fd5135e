import type { Config } from '../config/schema.js';
import { REMOTE_WRITE_HEADERS, type Downstream, type PostResult } from '../forward/downstream.js';
import { importPath, writePath } from '../forward/paths.js';
import { Metric, type Registry } from '../metrics/registry.js';
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
 * writer.connection_retry_attempts (vmanomaly's): a write that got no HTTP answer at all (status 0:
 * refused, reset, timed out) is resent up to `retries` times; an answer, good or bad, ends it.
 */
export class ResendingSink implements GeneratedSink {
  readonly name: string;
  constructor(
    private readonly inner: GeneratedSink,
    private readonly retries: number,
    /** Counts each resend (anomstream_generated_write_retries_total). */
    private readonly resent: Metric,
  ) {
    this.name = inner.name;
  }

  async send(tenant: string | null, body: Uint8Array): Promise<PostResult> {
    let r = await this.inner.send(tenant, body);
    for (let i = 0; i < this.retries && r.status === 0; i++) {
      this.resent.inc();
      r = await this.inner.send(tenant, body);
    }
    return r;
  }
}

/** What a ResendingSink counts: anomstream_generated_write_retries_total. */
export function resendCounter(r: Registry): Metric {
  return r.counter('anomstream_generated_write_retries_total', 'Requests of generated series sent again after no answer (writer.connection_retry_attempts).');
}

/**
 * The generated sink the writer section asks for: JSON lines when `import_json_path` is
 * present, else remote_write, resent on no answer (connection_retry_attempts). A new transport is
 * one more GeneratedSink and one more case here; a retrying or durable sink wraps the one chosen here.
 */
export function generatedSinkFor(w: Config['writer'], downstream: Downstream, resent = new Metric('')): GeneratedSink {
  const sink = w.import_json_path !== undefined ? new JsonLinesSink(downstream, w.import_json_path) : new RemoteWriteSink(downstream);
  return w.connection_retry_attempts > 0 ? new ResendingSink(sink, w.connection_retry_attempts, resent) : sink;
}
