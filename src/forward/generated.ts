import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { Snappy } from '../decode/snappy.js';
import type { Registry } from '../metrics/registry.js';
import { writeRequestToJsonLines } from '../output/json-lines.js';
import { REMOTE_WRITE_HEADERS, type Downstream, type PostResult } from './downstream.js';
import { importPath, writePath } from './paths.js';
import { TenancyCheck } from './tenancy.js';

/**
 * Where and how generated series are written. By default with remote_write to the tenant's
 * write path, like the raw data; when writer.import_json_path is present, as JSON lines to
 * that path (under `/insert/<tenant>/prometheus` for a cluster tenant), which is what
 * vmanomaly's VmWriter always does, so a pasted vmanomaly writer block keeps its meaning.
 */
const JSON_HEADERS = { 'content-type': 'application/json' };

export class GeneratedWriter {
  readonly tenancy: TenancyCheck;
  private readonly importJsonPath: string | null;
  /** writer.connection_retry_attempts: resends of a write that got no answer at all. */
  private readonly retries: number;
  private readonly snappy = new Snappy();

  constructor(
    w: Config['writer'],
    private readonly downstream: Downstream,
    registry: Registry,
    log: Logger,
  ) {
    this.importJsonPath = w.import_json_path ?? null;
    this.retries = w.connection_retry_attempts;
    this.tenancy = new TenancyCheck(registry, log);
  }

  get mode(): 'remote_write' | 'import_json' {
    return this.importJsonPath === null ? 'remote_write' : 'import_json';
  }

  /**
   * Posts one request of generated series; `snappyBody` is their snappy-compressed
   * WriteRequest. For JSON lines it is decompressed (into a reused buffer, read before the
   * first await) and re-encoded: a cost paid only in import_json_path mode.
   */
  send(tenant: string | null, snappyBody: Uint8Array): Promise<PostResult> {
    if (this.importJsonPath === null) return this.post(writePath(tenant), snappyBody, REMOTE_WRITE_HEADERS);
    const raw = this.snappy.decompress(snappyBody, Number.MAX_SAFE_INTEGER);
    const lines = Buffer.from(writeRequestToJsonLines(raw), 'utf8');
    return this.post(importPath(tenant, this.importJsonPath), lines, JSON_HEADERS);
  }

  /** A write that got no HTTP answer (status 0: refused, reset, timed out) is resent up to `retries` times. */
  private async post(path: string, body: Uint8Array, headers: Record<string, string>): Promise<PostResult> {
    let r = await this.downstream.post(path, body, headers);
    for (let i = 0; i < this.retries && r.status === 0; i++) r = await this.downstream.post(path, body, headers);
    return r;
  }
}
