/**
 * Self-monitoring in Prometheus text format (0.0.4), served on GET /metrics.
 * Metrics are plain objects with a numeric field the hot path bumps; the text is built only
 * when scraped. A labelled metric is one object per label value, created at start-up or on
 * first use of a (bounded) label value. Counts kept elsewhere (the scoring unit's typed arrays
 * per query and model) are folded in by `onCollect` callbacks just before the text is built.
 */
export class Metric {
  value = 0;
  constructor(readonly labels: string) {}
  inc(n = 1): void {
    this.value += n;
  }
  set(v: number): void {
    this.value = v;
  }
}

/**
 * Classic Prometheus buckets (`le`), one set for every duration anomstream measures: ~2.5x apart
 * from 100 µs to 10 s, so scoring a small request (sub-ms), a forwarded write (ms) and a stalled
 * event loop (s) all land inside the range. 16 buckets + `+Inf`: `histogram_quantile()` reads
 * them in Prometheus and VictoriaMetrics alike (vmrange buckets would need VictoriaMetrics).
 */
export const SECONDS_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A histogram with fixed bucket bounds; observe() is a short linear scan, no allocation. */
export class Histogram {
  /** Per bucket (the last is +Inf): observations that fell in it (not cumulative). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: string,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]) i++;
    this.counts[i]++;
    this.sum += v;
    this.count++;
  }
}

type Child = Metric | Histogram;

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  children: Map<string, Child>;
}

export class Registry {
  private families = new Map<string, Family>();
  private collectors: (() => void)[] = [];

  counter(name: string, help: string, labels = ''): Metric {
    return this.child(name, help, 'counter', labels, () => new Metric(labels)) as Metric;
  }
  gauge(name: string, help: string, labels = ''): Metric {
    return this.child(name, help, 'gauge', labels, () => new Metric(labels)) as Metric;
  }
  histogram(name: string, help: string, labels = '', bounds: readonly number[] = SECONDS_BUCKETS): Histogram {
    return this.child(name, help, 'histogram', labels, () => new Histogram(labels, bounds)) as Histogram;
  }
  /** Forget one labelled child (a query or model removed by a reload); it is no longer exposed. */
  remove(name: string, labels: string): void {
    this.families.get(name)?.children.delete(labels);
  }
  /** Called before each scrape to refresh computed gauges and fold counts kept elsewhere. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  private child(name: string, help: string, type: Family['type'], labels: string, make: () => Child): Child {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = { name, help, type, children: new Map() }));
    else if (f.type !== type) throw new Error(`metric ${name} is a ${f.type}, not a ${type}`);
    let m = f.children.get(labels);
    if (!m) f.children.set(labels, (m = make()));
    return m;
  }

  render(): string {
    for (const c of this.collectors) c();
    let out = '';
    for (const f of this.families.values()) {
      if (f.children.size === 0) continue;
      out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
      for (const m of f.children.values()) out += m instanceof Histogram ? histogramText(f.name, m) : `${f.name}${m.labels ? `{${m.labels}}` : ''} ${num(m.value)}\n`;
    }
    return out;
  }
}

function histogramText(name: string, h: Histogram): string {
  const sep = h.labels ? `${h.labels},` : '';
  let out = '';
  let cum = 0;
  for (let i = 0; i <= h.bounds.length; i++) {
    cum += h.counts[i];
    out += `${name}_bucket{${sep}le="${i < h.bounds.length ? num(h.bounds[i]) : '+Inf'}"} ${cum}\n`;
  }
  const l = h.labels ? `{${h.labels}}` : '';
  return `${out}${name}_sum${l} ${num(h.sum)}\n${name}_count${l} ${h.count}\n`;
}

/** A sample value as the text format writes it (+Inf, -Inf, NaN; Go-style exponents are fine). */
function num(v: number): string {
  return v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
}

/** label="value" with Prometheus escaping. */
export function lbl(name: string, value: string): string {
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
}
