import { lbl, type Metric, type Registry } from '../metrics/registry.js';
import type { InstanceSpec } from './instances.js';
import type { ScoringState } from './state.js';

/** The per-(query, model) metric families. */
const SCORED = 'anomstream_samples_scored_total';
const ANOMALOUS = 'anomstream_samples_anomalous_total';
const WARMED = 'anomstream_series_warmed_up_total';
const SERIES = 'anomstream_scored_series';
const WARMING = 'anomstream_series_warming_up';

const HELP: Record<string, string> = {
  [SCORED]: 'Samples learnt by a model, per query and model (a sample of a query with two models counts once for each).',
  [ANOMALOUS]: 'Samples that scored above 1, per query and model.',
  [WARMED]: 'Series that finished their warm-up (min_n_samples_seen points), per query and model.',
  [SERIES]: 'Series with model state, per query and model.',
  [WARMING]: 'Series with model state still in their warm-up (no generated series yet), per query and model.',
};

interface InstanceMetrics {
  labels: string;
  scored: Metric;
  anomalous: Metric;
  warmed: Metric;
  series: Metric;
  warming: Metric;
}

/**
 * The numbers per (query, model) a user asks for first: the scoring loop bumps plain typed
 * arrays indexed by instance (one add per series and request, one compare per sample for
 * "above 1"); they are folded into the registry's counters at scrape time (fold()), and the
 * gauges are read from the scoring state then. A reload folds first, so every count lands on
 * the labels of the pair that made it; pairs the new spec no longer has leave /metrics.
 */
export class InstanceCounts {
  /** Per instance, since the last fold: samples learnt, samples scored above 1, warm-ups finished. */
  scored: Float64Array;
  anomalous: Float64Array;
  warmed: Float64Array;
  private metrics: InstanceMetrics[];

  constructor(
    private readonly registry: Registry,
    instances: InstanceSpec[],
  ) {
    this.scored = new Float64Array(instances.length);
    this.anomalous = new Float64Array(instances.length);
    this.warmed = new Float64Array(instances.length);
    this.metrics = instances.map((i) => this.metricsOf(i));
  }

  /** Add the counts since the last fold to the registry's counters and refresh the gauges from `state`. */
  fold(state: ScoringState): void {
    for (let i = 0; i < this.metrics.length; i++) {
      const m = this.metrics[i];
      m.scored.inc(this.scored[i]);
      m.anomalous.inc(this.anomalous[i]);
      m.warmed.inc(this.warmed[i]);
      this.scored[i] = this.anomalous[i] = this.warmed[i] = 0;
      const s = state.instances[i];
      const live = s.used - s.freeOffsets.length;
      m.series.set(live);
      m.warming.set(live - s.ready);
    }
  }

  /** Totals so far (after fold()) of instance i: [samples scored, samples above 1]. */
  totals(i: number): [number, number] {
    return [this.metrics[i].scored.value, this.metrics[i].anomalous.value];
  }

  /** A reload to `instances` (call fold() first, with the old state). */
  reshape(instances: InstanceSpec[]): void {
    const next = instances.map((i) => this.metricsOf(i));
    const kept = new Set(next.map((m) => m.labels));
    for (const m of this.metrics) if (!kept.has(m.labels)) for (const name of Object.keys(HELP)) this.registry.remove(name, m.labels);
    this.metrics = next;
    this.scored = new Float64Array(instances.length);
    this.anomalous = new Float64Array(instances.length);
    this.warmed = new Float64Array(instances.length);
  }

  private metricsOf(i: InstanceSpec): InstanceMetrics {
    const labels = `${lbl('query', i.queryAlias)},${lbl('model_alias', i.modelAlias)}`;
    const r = this.registry;
    return {
      labels,
      scored: r.counter(SCORED, HELP[SCORED], labels),
      anomalous: r.counter(ANOMALOUS, HELP[ANOMALOUS], labels),
      warmed: r.counter(WARMED, HELP[WARMED], labels),
      series: r.gauge(SERIES, HELP[SERIES], labels),
      warming: r.gauge(WARMING, HELP[WARMING], labels),
    };
  }
}
