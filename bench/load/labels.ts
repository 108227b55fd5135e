// node_exporter-like label sets: one "host" contributes HOST_SERIES series in the families below.
// 12 of its 119 series are node_cpu_seconds_total{mode=~"idle|user|system"} (4 cpus x 3 modes): 10.1%,
// the selection the real-stack benchmark scores.
//
// Two shapes of the same series, as two kinds of sender put them on the wire:
// - `prometheus`: labels sorted by name (Prometheus' labels.Labels is always sorted), 3-6 labels:
//   __name__, the exporter's labels, instance, job.
// - `vmagent`: a vmagent >= 1.83 scraping node_exporter with `global.external_labels` {region, az, env}:
//   6-9 labels, not sorted by name. vmagent keeps the order the scrape left (VictoriaMetrics
//   lib/promscrape/scrapework.go, `addRow`, v1.83.0 .. v1.150): `__name__`, the exposition's labels in
//   the exposition's order (node_exporter's client_golang writes them sorted by name), the target labels
//   (`instance`, `job`: ScrapeWork.Labels, sorted by name), then *after* metric relabeling the external
//   labels, sorted by name among themselves (ScrapeWork.ExternalLabels, promutil.Labels.InitFromMap
//   sorts): `az`, `env`, `region`. E.g. node_cpu_seconds_total{cpu, mode, instance, job, az, env, region}.
//   (vmagent 1.79, the Debian package, still sorted every scraped series and every series it added
//   `-remoteWrite.label`s to: lib/promscrape/scrapework.go addRowToTimeseries and promrelabel Apply call
//   SortLabels there; both calls went in 1.83.0. From 1.94.0 `-remoteWrite.label`s are appended last,
//   per URL, in flag order: app/vmagent/remotewrite/relabel.go appendExtraLabels.)

export type Shape = 'prometheus' | 'vmagent';
export const SHAPES: readonly Shape[] = ['prometheus', 'vmagent'];

export function parseShape(s: string): Shape {
  if (!(SHAPES as readonly string[]).includes(s)) throw new Error(`shape: expected ${SHAPES.join(' or ')}, got '${s}'`);
  return s as Shape;
}

export interface SeriesSpec {
  /** Label pairs in the shape's order, no repeats (remote write requires unique names). */
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

function sorted(labels: Array<[string, string]>): Array<[string, string]> {
  return labels.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Deterministic pseudo-random in [0, 1) from two integers (no state, so any series/round is addressable). */
export function unit(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4294967296;
}

const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2'];

/** The external labels of `host`'s vmagent, sorted by name as vmagent appends them: az, env, region. */
export function externalLabels(host: number): Array<[string, string]> {
  const region = REGIONS[host % REGIONS.length];
  return [
    ['az', `${region}${'abc'[Math.floor(host / REGIONS.length) % 3]}`],
    ['env', host % 4 === 3 ? 'staging' : 'prod'],
    ['region', region],
  ];
}

function hostSeries(host: number, shape: Shape, out: SeriesSpec[]): void {
  const instance = `10.${(host >>> 16) & 255}.${(host >>> 8) & 255}.${host & 255}:9100`;
  const ext = externalLabels(host);
  // `labels` holds __name__ and the exporter's own labels in exposition order (sorted by name).
  const push = (labels: Record<string, string>, counter: boolean, base: number, step: number): void => {
    const scraped = Object.entries(labels);
    scraped.push(['instance', instance], ['job', 'node']);
    out.push({ labels: shape === 'prometheus' ? sorted(scraped) : scraped.concat(ext), counter, base, step });
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

/** The first `count` series of hosts 0, 1, 2, ..., labels in `shape`'s order. */
export function nodeExporterSeries(count: number, shape: Shape = 'prometheus'): SeriesSpec[] {
  const out: SeriesSpec[] = [];
  for (let host = 0; out.length < count; host++) hostSeries(host, shape, out);
  out.length = count;
  return out;
}

/** Value of series `s` (spec `spec`) at round `r`: counters increase, gauges move +-5% around base. */
export function valueAt(spec: SeriesSpec, s: number, r: number): number {
  if (spec.counter) return spec.base + spec.step * r + spec.step * unit(s, r);
  return spec.base * (1 + 0.05 * Math.sin(r / 30 + s) + 0.01 * unit(s, r)) + 1;
}
