import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * Self-monitoring in Prometheus text format, served on GET /metrics.
 * Metrics are plain objects with a numeric field the hot path bumps; the text is built only
 * when scraped. A labelled metric is one object per label value, created at start-up or on
 * first use of a (bounded) label value.
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

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  children: Map<string, Metric>;
}

export class Registry {
  private families = new Map<string, Family>();
  private collectors: (() => void)[] = [];

  counter(name: string, help: string, labels = ''): Metric {
    return this.child(name, help, 'counter', labels);
  }
  gauge(name: string, help: string, labels = ''): Metric {
    return this.child(name, help, 'gauge', labels);
  }
  /** Called before each scrape to refresh computed gauges. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  private child(name: string, help: string, type: Family['type'], labels: string): Metric {
    let f = this.families.get(name);
    if (!f) this.families.set(name, (f = { name, help, type, children: new Map() }));
    let m = f.children.get(labels);
    if (!m) f.children.set(labels, (m = new Metric(labels)));
    return m;
  }

  render(): string {
    for (const c of this.collectors) c();
    let out = '';
    for (const f of this.families.values()) {
      out += `# HELP ${f.name} ${f.help}\n# TYPE ${f.name} ${f.type}\n`;
      for (const m of f.children.values()) out += `${f.name}${m.labels ? `{${m.labels}}` : ''} ${m.value}\n`;
    }
    return out;
  }
}

/** label="value" with Prometheus escaping. */
export function lbl(name: string, value: string): string {
  return `${name}="${value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
}

/** Process metrics: CPU, memory, event-loop delay, GC-free numbers read at scrape time. */
export function registerProcessMetrics(r: Registry): void {
  const cpu = r.counter('process_cpu_seconds_total', 'User and system CPU time spent in seconds.');
  const rss = r.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.');
  const heap = r.gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.');
  const ext = r.gauge('nodejs_external_memory_bytes', 'Memory outside the V8 heap (buffers, typed arrays), bytes.');
  const lagP99 = r.gauge('nodejs_eventloop_delay_p99_seconds', 'Event-loop delay p99 since start, seconds.');
  const lagMax = r.gauge('nodejs_eventloop_delay_max_seconds', 'Event-loop delay max since start, seconds.');
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  r.onCollect(() => {
    const u = process.cpuUsage();
    cpu.set((u.user + u.system) / 1e6);
    const m = process.memoryUsage();
    rss.set(m.rss);
    heap.set(m.heapUsed);
    ext.set(m.external + m.arrayBuffers);
    lagP99.set(h.percentile(99) / 1e9);
    lagMax.set(h.max / 1e9);
  });
}
