import type { Config } from '../config/schema.js';
import type { WriteBatch } from '../ingest/write-request.js';
import type { InstanceSpec } from '../scoring/instances.js';
import { COLUMN_OF, Column, type OutputRows, type ScoreSink } from '../scoring/output.js';
import { GeneratedEncoder } from './encoder.js';
import { encodeLabels, formatLabels, replacedLabelNames } from './format.js';
import type { TenancyCheck } from './tenancy.js';

/** What one instance writes: per output variable its column, its encoded label prefix and the prefix's id. */
interface InstanceOutput {
  columns: Int32Array;
  prefixes: Uint8Array[];
  prefixIds: Int32Array;
}

/**
 * The scoring unit's sink in the proxy: output rows become generated series in the encoder's
 * WriteRequest. Label prefixes (writer.metric_format with $VAR and $QUERY_KEY filled, plus
 * model_alias when a query has several models) are encoded once here, per (instance, variable).
 * A new series' block plan is decided and its multitenancy case checked when scoring gives it
 * an id (seriesAdded), never per sample.
 */
export class GeneratedBlock implements ScoreSink {
  readonly encoder: GeneratedEncoder;
  private readonly outputs: InstanceOutput[];
  /**
   * The encoder's simple plan copies a series' label bytes whole, decided on the first series
   * given an id. With reader.ignore_labels one id stands for copies that differ in ignored labels
   * (`replica`), which the simple plan would copy too when the first copy seen has none of them:
   * every series then takes the general plan, which drops them label by label.
   */
  private readonly allowSimple: boolean;

  /** `ignored`: reader.ignore_labels, left out of every generated series. */
  constructor(
    w: Config['writer'],
    instances: InstanceSpec[],
    private readonly tenancy: TenancyCheck,
    ignored: readonly string[] = [],
  ) {
    this.encoder = new GeneratedEncoder(replacedLabelNames(w.metric_format, ignored), instances.length * Column.Count);
    this.allowSimple = ignored.length === 0;
    this.outputs = instances.map((inst, i) => ({
      columns: Int32Array.from(inst.provide, (v) => COLUMN_OF[v]),
      prefixes: inst.provide.map((v) => encodeLabels(formatLabels(w.metric_format, v, inst.queryAlias, inst.sharedQuery ? inst.modelAlias : null))),
      prefixIds: Int32Array.from(inst.provide, (v) => i * Column.Count + COLUMN_OF[v]),
    }));
  }

  beginBatch(): void {
    this.encoder.newBatch();
  }

  seriesAdded(batch: WriteBatch, s: number, id: number, tenant: string | null, labels: Map<string, string>): void {
    this.tenancy.check(tenant, labels);
    this.encoder.plan(batch, s, id, this.allowSimple);
  }

  rows(batch: WriteBatch, s: number, id: number, first: boolean, inst: number, out: OutputRows, n: number): void {
    const enc = this.encoder;
    if (first) enc.beginSeries(batch, s, id);
    enc.timestamps(out.ts, n);
    const o = this.outputs[inst];
    const cols = out.cols;
    for (let v = 0; v < o.columns.length; v++) enc.writeSeries(o.prefixIds[v], o.prefixes[v], cols[o.columns[v]]);
  }
}
