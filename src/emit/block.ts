import type { Config } from '../config/schema.js';
import type { WriteBatch } from '../ingest/write-request.js';
import type { InstanceSpec } from '../scoring/instances.js';
import { COLUMN_OF, Column, type OutputRows, type ScoreSink } from '../scoring/output.js';
import { GeneratedEncoder } from './encoder.js';
import { encodeLabels, formatLabels, replacedLabelNames } from './format.js';
import type { TenancyCheck } from './tenancy.js';
import type { Metric, Registry } from '../metrics/registry.js';
import type { LabelLimits } from '../scoring/scoring.js';
import { grown } from '../wire/grow.js';

/**
 * What one instance writes: per output variable its column, its encoded label prefix and the
 * prefix's id, and how many of the input's labels its series may keep within
 * limits.max_labels_per_series (-1: none, its prefix breaks a limit itself).
 */
interface InstanceOutput {
  columns: Int32Array;
  prefixes: Uint8Array[];
  prefixIds: Int32Array;
  maxKept: Int32Array;
  /** The least of maxKept: a series keeping no more labels has every output written. */
  minKept: number;
}

/**
 * The scoring unit's sink in the proxy: output rows become generated series in the encoder's
 * WriteRequest. Label prefixes (writer.metric_format with $VAR and $QUERY_KEY filled, plus
 * model_alias when a query has several models) are encoded once here, per (instance, variable).
 * A new series' block plan is decided and its multitenancy case checked when scoring gives it
 * an id (seriesAdded), never per sample. A generated series that would break the per-series
 * limits (limits.max_labels_per_series, max_label_name_len, max_label_value_len) is not written
 * (counted); the input's own labels are within them (scoring does not score a series that is not).
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

  /** Per series id: how many input labels its generated series carry (source_metric included). */
  private kept = new Int32Array(1024);
  private readonly replaced: Set<string>;
  private readonly overLimit: Metric | undefined;

  /** `ignored`: reader.ignore_labels, left out of every generated series. */
  constructor(
    w: Config['writer'],
    instances: InstanceSpec[],
    private readonly tenancy: TenancyCheck,
    ignored: readonly string[] = [],
    lim: LabelLimits = { maxLabels: Infinity, maxNameLen: Infinity, maxValueLen: Infinity },
    registry?: Registry,
  ) {
    const replaced = replacedLabelNames(w.metric_format, ignored);
    this.replaced = new Set(replaced);
    this.encoder = new GeneratedEncoder(replaced, instances.length * Column.Count);
    this.allowSimple = ignored.length === 0;
    const utf8 = new TextEncoder();
    const maxKept = (pairs: [string, string][]): number =>
      pairs.some(([n, v]) => utf8.encode(n).length > lim.maxNameLen || utf8.encode(v).length > lim.maxValueLen) ? -1 : Math.min(lim.maxLabels - pairs.length, 2 ** 31 - 1);
    this.outputs = instances.map((inst, i) => {
      const pairs = inst.provide.map((v) => formatLabels(w.metric_format, v, inst.queryAlias, inst.sharedQuery ? inst.modelAlias : null));
      return {
        columns: Int32Array.from(inst.provide, (v) => COLUMN_OF[v]),
        prefixes: pairs.map(encodeLabels),
        prefixIds: Int32Array.from(inst.provide, (v) => i * Column.Count + COLUMN_OF[v]),
        maxKept: Int32Array.from(pairs, maxKept),
        minKept: pairs.length > 0 ? Math.min(...pairs.map(maxKept)) : -1,
      };
    });
    this.overLimit = registry?.counter(
      'anomstream_generated_samples_over_label_limits_total',
      'Generated samples not written because their series would break limits.max_labels_per_series, max_label_name_len or max_label_value_len.',
    );
  }

  beginBatch(): void {
    this.encoder.newBatch();
  }

  seriesAdded(batch: WriteBatch, s: number, id: number, tenant: string | null, labels: Map<string, string>): void {
    this.tenancy.check(tenant, labels);
    let kept = labels.has('__name__') ? 1 : 0; // becomes source_metric
    for (const k of labels.keys()) if (!this.replaced.has(k)) kept++;
    if (id >= this.kept.length) this.kept = grown(this.kept, id + 1);
    this.kept[id] = kept;
    this.encoder.plan(batch, s, id, this.allowSimple);
  }

  reserve(ids: number): void {
    this.kept = grown(this.kept, ids);
    this.encoder.reserve(ids);
  }

  rows(batch: WriteBatch, s: number, id: number, first: boolean, inst: number, out: OutputRows, from: number, n: number): void {
    const enc = this.encoder;
    if (first) enc.beginSeries(batch, s, id);
    const o = this.outputs[inst];
    const cols = out.cols;
    const kept = this.kept[id];
    if (n === 1 && kept <= o.minKept) {
      enc.writeOutputs(o.prefixIds, o.prefixes, cols, o.columns, from, out.ts);
      return;
    }
    enc.timestamps(out.ts, n, from);
    for (let v = 0; v < o.columns.length; v++) {
      if (kept > o.maxKept[v]) this.overLimit?.inc(n);
      else enc.writeSeries(o.prefixIds[v], o.prefixes[v], cols[o.columns[v]], from);
    }
  }
}
