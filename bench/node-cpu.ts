// The node_exporter-like series the in-process benchmarks share (bench/micro-hot.ts, bench/ab-hot.ts):
// node_cpu_seconds_total of 8 CPUs x 8 modes per host, 64 series per host, labels sorted by name.

const MODES = ['idle', 'user', 'system', 'iowait', 'irq', 'softirq', 'steal', 'nice'];

/** Labels of series i (protobufjs WriteRequest form). */
export function nodeCpuLabels(i: number): { name: string; value: string }[] {
  return [
    { name: '__name__', value: 'node_cpu_seconds_total' },
    { name: 'cpu', value: String(i % 8) },
    { name: 'instance', value: `host-${Math.floor(i / 64)}.prod.example.com:9100` },
    { name: 'job', value: 'node' },
    { name: 'mode', value: MODES[Math.floor(i / 8) % 8] },
  ];
}
