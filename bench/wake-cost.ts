// What a sleep costs on this machine: CPU time charged to a process per idle -> busy transition, and
// how much slower the same work runs right after an idle gap. No anomstream code: a fixed unit of
// work (a hash over 256 KiB, ~0.4 ms) run in bursts, with the thread asleep between bursts (a futex
// wait, as epoll_wait parks the event loop), pinned to CPU 0.
//
// Why it exists (issue 20): anomstream's CPU per raw sample rises as the offered rate falls (0.85-0.95
// CPU s per 1M at saturation, 1.0-1.7 at 300k samples/s, noisy), spread over every stage. A proxy that
// answers only once the datasource accepted the data sleeps ~3 times per request (body, raw answer,
// generated answer); at saturation it never sleeps. This bench measures the tax per sleep apart from
// our code.
//
//   node dist/bench/wake-cost.js [--seconds 3] [--rounds 2] [--units 1,4]
//
// Columns: CPU µs per cycle (process.cpuUsage: utime + stime of the whole process), the work's own
// wall µs per cycle (hrtime around the work only), and their difference (CPU charged outside the
// work: the sleeps' wake-ups). "per extra wake" compares a gap slept in N slices with the same gap in
// one: (CPU(N slices) - CPU(1 sleep)) / (N - 1).

import { execFileSync } from 'node:child_process';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}

const seconds = Number(arg('--seconds', '3'));
const rounds = Number(arg('--rounds', '2'));
const unitsList = arg('--units', '1,4').split(',').map(Number);

const buf = new Uint8Array(256 * 1024);
for (let i = 0; i < buf.length; i++) buf[i] = (i * 7919) & 255;
const table = new Float64Array(1 << 16);

/** `n` units of work: a multiplicative hash over buf, counting into a 512 KiB table (cache traffic like a lookup). */
function work(n: number): number {
  let h = 0;
  for (let r = 0; r < n; r++)
    for (let i = 0; i < buf.length; i++) {
      h = (Math.imul(h ^ buf[i], 0x9e3779b1) + i) | 0;
      table[h & 0xffff] += 1;
    }
  return h;
}

const cell = new Int32Array(new SharedArrayBuffer(4));
/** Sleep `ms` in the kernel (futex), like an event loop with nothing to do. */
const sleep = (ms: number): void => void Atomics.wait(cell, 0, 0, ms);

interface Pattern {
  /** Idle ms between bursts, slept in `slices` waits. */
  gap: number;
  slices: number;
}

const PATTERNS: Pattern[] = [
  { gap: 0, slices: 0 },
  { gap: 1, slices: 1 },
  { gap: 3, slices: 1 },
  { gap: 10, slices: 1 },
  { gap: 30, slices: 1 },
  { gap: 30, slices: 6 },
  { gap: 30, slices: 30 },
];

interface Result {
  cpuUs: number;
  workUs: number;
}

function measure(units: number, p: Pattern): Result {
  const slice = p.slices > 0 ? p.gap / p.slices : 0;
  const c0 = process.cpuUsage();
  const t0 = Date.now();
  let cycles = 0;
  let workNs = 0n;
  while (Date.now() - t0 < seconds * 1000) {
    const h = process.hrtime.bigint();
    work(units);
    workNs += process.hrtime.bigint() - h;
    cycles++;
    for (let s = 0; s < p.slices; s++) sleep(slice);
  }
  const c = process.cpuUsage(c0);
  return { cpuUs: (c.user + c.system) / cycles, workUs: Number(workNs / 1000n) / cycles };
}

try {
  execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
} catch {
  console.error('note: taskset failed, not pinned');
}
work(50); // compiled and warm before the first measurement

const rows: string[] = [
  '| work units (~0.4 ms each) | idle gap ms | slept in | round | CPU µs / cycle | work wall µs / cycle | CPU outside the work µs / cycle | CPU per extra wake µs |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (let round = 1; round <= rounds; round++)
  for (const units of unitsList) {
    const single = new Map<number, number>();
    for (const p of PATTERNS) {
      const r = measure(units, p);
      if (p.slices === 1) single.set(p.gap, r.cpuUs);
      const one = single.get(p.gap);
      const perWake = p.slices > 1 && one !== undefined ? ((r.cpuUs - one) / (p.slices - 1)).toFixed(0) : '';
      rows.push(`| ${units} | ${p.gap} | ${p.slices} | ${round} | ${r.cpuUs.toFixed(0)} | ${r.workUs.toFixed(0)} | ${(r.cpuUs - r.workUs).toFixed(0)} | ${perWake} |`);
    }
  }
console.log(rows.join('\n'));
