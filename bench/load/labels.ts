// node_exporter-like label sets: one "host" contributes HOST_SERIES series in the families below.
// 12 of its 119 series are node_cpu_seconds_total{mode=~"idle|user|system"} (4 cpus x 3 modes): 10.1%,
// the selection the real-stack benchmark scores.

export interface SeriesSpec {
  /** Label pairs sorted by name, no repeats (remote write requires both). */
  labels: Array<[string, string]>;
  /** Counters grow by `step` per round; gauges wander around `base`. */
  counter: boolean;
  base: number;
  step: number;
}

const CPU_MODES = ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user'];
const NET_DEVICES = ['docker0', 'eth0', 'eth1', 'lo'];
const NET_METRICS = ['receive_bytes', 'receive_packets', 'receive_errs', 'receive_drop', 'transmit_bytes', 'transmit_packets', 'transmit_errs', 'transmit_drop'];
const MOUNTS: Array<[string, string, string]> = [
  ['/dev/sda1', '/', 'ext4'],
  ['/dev/sda2', '/boot', 'ext4'],
  ['tmpfs', '/run', 'tmpfs'],
  ['/dev/nvme0n1p1', '/var/lib/docker', 'xfs'],
];
const FS_METRICS = ['avail_bytes', 'free_bytes', 'size_bytes', 'files', 'files_free'];
const DISKS = ['nvme0n1', 'sda', 'sdb'];
const DISK_METRICS = ['read_bytes_total', 'written_bytes_total', 'reads_completed_total', 'writes_completed_total', 'io_time_seconds_total'];
const MEMORY = ['MemTotal', 'MemFree', 'MemAvailable', 'Buffers', 'Cached', 'SwapTotal', 'SwapFree', 'Active', 'Inactive', 'Dirty'];
const MISC: Array<[string, boolean]> = [
  ['node_load1', false],
  ['node_load5', false],
  ['node_load15', false],
  ['node_context_switches_total', true],
  ['node_intr_total', true],
  ['node_forks_total', true],
  ['node_procs_running', false],
  ['node_procs_blocked', false],
  ['node_boot_time_seconds', false],
  ['node_entropy_available_bits', false],
];
export const HOST_SERIES = 4 * CPU_MODES.length + NET_DEVICES.length * NET_METRICS.length + MOUNTS.length * FS_METRICS.length + DISKS.length * DISK_METRICS.length + MEMORY.length + MISC.length;

function sorted(labels: Record<string, string>): Array<[string, string]> {
  return Object.entries(labels).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Deterministic pseudo-random in [0, 1) from two integers (no state, so any series/round is addressable). */
export function unit(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

function hostSeries(host: number, out: SeriesSpec[]): void {
  const instance = `10.${(host >>> 16) & 255}.${(host >>> 8) & 255}.${host & 255}:9100`;
  const common = { instance, job: 'node' };
  const push = (labels: Record<string, string>, counter: boolean, base: number, step: number): void => {
    out.push({ labels: sorted({ ...labels, ...common }), counter, base, step });
  };
  for (let cpu = 0; cpu < 4; cpu++) {
    for (const mode of CPU_MODES) {
      push({ __name__: 'node_cpu_seconds_total', cpu: String(cpu), mode }, true, 1e5 * (1 + unit(host, cpu)), mode === 'idle' ? 8 : 1);
    }
  }
  for (const device of NET_DEVICES) {
    for (const m of NET_METRICS) push({ __name__: `node_network_${m}_total`, device }, true, 1e9 * unit(host, m.length), m.endsWith('bytes') ? 1e6 : 10);
  }
  for (const [device, mountpoint, fstype] of MOUNTS) {
    for (const m of FS_METRICS) push({ __name__: `node_filesystem_${m}`, device, fstype, mountpoint }, false, 5e10 * (0.5 + unit(host, mountpoint.length)), 0);
  }
  for (const device of DISKS) {
    for (const m of DISK_METRICS) push({ __name__: `node_disk_${m}`, device }, true, 1e8 * unit(host, m.length), m.includes('bytes') ? 5e5 : 20);
  }
  for (const m of MEMORY) push({ __name__: `node_memory_${m}_bytes` }, false, 8e9 * (0.2 + unit(host, m.length)), 0);
  for (const [name, counter] of MISC) push({ __name__: name }, counter, counter ? 1e7 : 2 + 10 * unit(host, name.length), counter ? 500 : 0);
}

/** The first `count` series of hosts 0, 1, 2, ... */
export function nodeExporterSeries(count: number): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  for (let host = 0; out.length < count; host++) hostSeries(host, out);
  out.length = count;
  return out;
}

/** Value of series `s` (spec `spec`) at round `r`: counters increase, gauges move +-5% around base. */
export function valueAt(spec: SeriesSpec, s: number, r: number): number {
  if (spec.counter) return spec.base + spec.step * r + spec.step * unit(s, r);
  return spec.base * (1 + 0.05 * Math.sin(r / 30 + s) + 0.01 * unit(s, r)) + 1;
}
