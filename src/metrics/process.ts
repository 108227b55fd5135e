import { readdirSync, readFileSync } from 'node:fs';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';
import { lbl, type Registry } from './registry.js';

/**
 * Process metrics, under the names Prometheus' client libraries use (process_*, nodejs_*), and
 * anomstream_build_info. Read at scrape time, except two that must be measured as they happen:
 *
 * - nodejs_eventloop_delay_seconds: a histogram of how late a timer fires (the time the event
 *   loop was busy when it was due), every 50 ms while the loop works, every second while it
 *   idles (watchEventLoop). Being a histogram, `rate()` over a window gives the delay of that
 *   window only: one stall ages out of the window and an alert on it resolves (a p99 "since
 *   start" would stay high for ever after one stall).
 * - nodejs_gc_duration_seconds{kind}: V8's garbage-collection pauses, from perf_hooks' `gc`
 *   entries (one entry per collection, a few per second under load).
 * Open file descriptors and their limit come from /proc (Linux); elsewhere they are left out.
 */
export function registerProcessMetrics(r: Registry, version: string): () => void {
  r.gauge('anomstream_build_info', 'anomstream version and the Node.js running it (value 1).', `${lbl('version', version)},${lbl('nodejs_version', process.version)}`).set(1);
  r.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch, seconds.').set(Math.round(performance.timeOrigin) / 1000);
  const cpu = r.counter('process_cpu_seconds_total', 'User and system CPU time spent in seconds.');
  const rss = r.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.');
  const heap = r.gauge('nodejs_heap_used_bytes', 'V8 heap in use, bytes.');
  const ext = r.gauge('nodejs_external_memory_bytes', 'Memory outside the V8 heap (buffers, typed arrays), bytes.');
  const fds = readFds() >= 0 ? r.gauge('process_open_fds', 'Open file descriptors.') : undefined;
  const maxFds = readMaxFds() > 0 ? r.gauge('process_max_fds', 'Limit of open file descriptors (soft RLIMIT_NOFILE).') : undefined;
  r.onCollect(() => {
    const u = process.cpuUsage();
    cpu.set((u.user + u.system) / 1e6);
    const m = process.memoryUsage();
    rss.set(m.rss);
    heap.set(m.heapUsed);
    ext.set(m.external + m.arrayBuffers);
    fds?.set(readFds());
    maxFds?.set(readMaxFds());
  });
  const loop = watchEventLoop(r);
  const gc = watchGc(r);
  return () => {
    loop.stop();
    gc.disconnect();
  };
}

/** Period of the event-loop delay timer while the event loop works ... */
const LOOP_PERIOD_MS = 50;
/** ... and while it idles (busy under LOOP_IDLE_BUSY of the last period). */
const LOOP_IDLE_PERIOD_MS = 1000;
const LOOP_IDLE_BUSY = 0.01;

/**
 * How late a timer fires, every LOOP_PERIOD_MS while the loop has work and every
 * LOOP_IDLE_PERIOD_MS while it idles: at 50 ms, the timer alone woke an idle instance 20 times a
 * second (40 of its 46 wake-ups, ~2.5 ms of CPU a second: each shard pays it). The trade-off: a
 * stall that starts in an idle loop and is shorter than 1 s is seen with probability
 * (length / 1 s) instead of length / 50 ms; under load (what the metric is for) nothing changes.
 * Busy time is the loop's own (performance.eventLoopUtilization), read once per tick.
 */
function watchEventLoop(r: Registry): { stop(): void } {
  const h = r.histogram(
    'nodejs_eventloop_delay_seconds',
    `Event-loop delay: how late a timer fired, seconds; observed every ${LOOP_PERIOD_MS} ms while the event loop works, every ${LOOP_IDLE_PERIOD_MS} ms while it idles (busy under ${LOOP_IDLE_BUSY * 100}%).`,
  );
  let elu = performance.eventLoopUtilization();
  let period = LOOP_PERIOD_MS;
  let due = performance.now() + period;
  let timer: NodeJS.Timeout;
  const tick = (): void => {
    const now = performance.now();
    h.observe(Math.max(0, now - due) / 1000);
    const next = performance.eventLoopUtilization();
    period = next.active - elu.active < LOOP_IDLE_BUSY * (now - due + period) ? LOOP_IDLE_PERIOD_MS : LOOP_PERIOD_MS;
    elu = next;
    due = now + period;
    timer = setTimeout(tick, period).unref();
  };
  timer = setTimeout(tick, period).unref();
  return { stop: () => clearTimeout(timer) };
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

function watchGc(r: Registry): PerformanceObserver {
  const help = 'Garbage-collection pauses of V8 by kind, seconds.';
  const byKind = new Map(Object.entries(GC_KINDS).map(([k, name]) => [Number(k), r.histogram('nodejs_gc_duration_seconds', help, lbl('kind', name))]));
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) byKind.get((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? -1)?.observe(e.duration / 1000);
  });
  obs.observe({ entryTypes: ['gc'] });
  return obs;
}

/** Open descriptors (the directory listing's own descriptor excluded), or -1 without /proc. */
function readFds(): number {
  try {
    return readdirSync('/proc/self/fd').length - 1;
  } catch {
    return -1;
  }
}

/** The soft limit of open files, or -1 without /proc. */
function readMaxFds(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m === null ? -1 : m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return -1;
  }
}
