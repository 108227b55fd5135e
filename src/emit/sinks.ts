import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { SnappyReader } from '../wire/snappy.js';
import type { Registry } from '../metrics/registry.js';
import { writeRequestToJsonLines } from './json-lines.js';
import { REMOTE_WRITE_HEADERS, type Downstream, type PostResult } from '../forward/downstream.js';
import { importPath, writePath } from '../forward/paths.js';
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
  private readonly snappy = new SnappyReader();

  constructor(
    w: Config['writer'],
    private readonly downstream: Downstream,
    registry: Registry,
    log: Logger,
  ) {
    this.importJsonPath = w.import_json_path ?? null;
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
    if (this.importJsonPath === null) return this.downstream.post(writePath(tenant), snappyBody, REMOTE_WRITE_HEADERS);
    const raw = this.snappy.decompress(snappyBody, Number.MAX_SAFE_INTEGER);
    const lines = Buffer.from(writeRequestToJsonLines(raw), 'utf8');
    return this.downstream.post(importPath(tenant, this.importJsonPath), lines, JSON_HEADERS);
  }
}
