// Sends the pool to a remote_write URL: `concurrency` workers, each sending the next request as soon as
// its previous one is answered (rate 0) or at its slot of a fixed schedule (rate > 0, samples/s). Stops
// after the pool's last request, `maxRequests`, or `durationS`, whichever comes first; every wait is bounded.
// No retries: a non-2xx answer or a network error is an error, and its samples are not "accepted".

import { Pool as HttpPool } from 'undici';
import { REMOTE_WRITE_HEADERS, VM_REMOTE_WRITE_HEADERS } from '../../src/forward/downstream.js';
import { materialize, requestSamples, type Pool } from './pool.js';

export interface RunOptions {
  url: string;
  concurrency: number;
  /** Offered samples/s; 0 = as fast as accepted. */
  rate: number;
  durationS: number;
  maxRequests: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Leave the first N requests out of the latency figures (warm-up: new series, JIT). */
  latencySkip?: number;
  /** Zstd bodies of the pool's requests (load/zstd-bodies.ts), sent instead of its snappy ones. */
  bodies?: Buffer[];
}

export interface RunResult {
  requests: number;
  acceptedRequests: number;
  acceptedSamples: number;
  sentSamples: number;
  errors: number;
  errorsByStatus: Record<string, number>;
  /** Wall clock (ms) when the first request started and the last answer arrived. */
  firstStartMs: number;
  lastAnswerMs: number;
  seconds: number;
  acceptedSamplesPerS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  /** Requests whose latency the figures above cover (all answered ones after `latencySkip`). */
  latencyCount: number;
  bodyBytes: number;
}

function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export async function runLoad(pool: Pool, opt: RunOptions): Promise<RunResult> {
  const u = new URL(opt.url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error(`--url: the benchmark sends to 127.0.0.1 only, got '${u.hostname}'`);
  const client = new HttpPool(u.origin, { connections: opt.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const limit = Math.min(pool.totalRequests, opt.maxRequests);
  const latencies = new Float64Array(limit);
  const headers = opt.bodies ? VM_REMOTE_WRITE_HEADERS : REMOTE_WRITE_HEADERS;
  if (opt.bodies && opt.bodies.length < limit) throw new Error(`runLoad: ${opt.bodies.length} zstd bodies for ${limit} requests`);
  const res: RunResult = {
    requests: 0,
    acceptedRequests: 0,
    acceptedSamples: 0,
    sentSamples: 0,
    errors: 0,
    errorsByStatus: {},
    firstStartMs: 0,
    lastAnswerMs: 0,
    seconds: 0,
    acceptedSamplesPerS: 0,
    latencyMs: { p50: NaN, p90: NaN, p99: NaN, max: NaN },
    latencyCount: 0,
    bodyBytes: 0,
  };
  let next = 0;
  let answered = 0;
  const skip = Math.min(opt.latencySkip ?? 0, Math.max(0, limit - 1));
  let scheduledSamples = 0;
  const t0 = performance.now();
  const deadline = t0 + opt.durationS * 1000;
  res.firstStartMs = wallMs();
  const worker = async (): Promise<void> => {
    while (next < limit && performance.now() < deadline) {
      const idx = next++;
      const timed = idx >= skip;
      const samples = requestSamples(pool, idx);
      if (opt.rate > 0) {
        const due = t0 + (scheduledSamples / opt.rate) * 1000;
        scheduledSamples += samples;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, deadline - performance.now())));
        if (performance.now() >= deadline) break;
      }
      const body = opt.bodies ? opt.bodies[idx] : materialize(pool, idx);
      res.requests++;
      res.sentSamples += samples;
      res.bodyBytes += body.length;
      const start = performance.now();
      let status = 0;
      try {
        const r = await client.request({ path: u.pathname + u.search, method: 'POST', headers, body, headersTimeout: opt.timeoutMs, bodyTimeout: opt.timeoutMs });
        status = r.statusCode;
        await r.body.dump();
      } catch (e) {
        const key = (e as { code?: string }).code ?? 'network';
        res.errorsByStatus[key] = (res.errorsByStatus[key] ?? 0) + 1;
        res.errors++;
      }
      const end = performance.now();
      if (timed) latencies[answered++] = end - start;
      if (status >= 200 && status < 300) {
        res.acceptedRequests++;
        res.acceptedSamples += samples;
      } else if (status !== 0) {
        res.errorsByStatus[String(status)] = (res.errorsByStatus[String(status)] ?? 0) + 1;
        res.errors++;
      }
    }
  };
  const workers: Array<Promise<void>> = [];
  for (let i = 0; i < opt.concurrency; i++) workers.push(worker());
  await Promise.all(workers);
  res.lastAnswerMs = wallMs();
  await client.close();
  res.seconds = (res.lastAnswerMs - res.firstStartMs) / 1000;
  res.acceptedSamplesPerS = res.acceptedSamples / res.seconds;
  const sorted = latencies.slice(0, answered).sort();
  res.latencyCount = sorted.length;
  res.latencyMs = { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1] : NaN };
  return res;
}
