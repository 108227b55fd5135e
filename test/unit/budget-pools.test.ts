// server.max_memory_bytes and the pools that keep buffers for reuse (src/ingest/budget.ts
// TrimSchedule, src/ingest/ingest.ts, src/ingest/raw-forward.ts' compressors): a zstd body
// re-encoded as snappy for a datasource that reads no zstd is counted (503 when it does not fit),
// and the pools shrink back on one timer that exists only while something is grown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { Downstream } from '../../src/forward/downstream.js';
import { MemoryBudget, POOL_IDLE_MS, TrimSchedule, type Trimmable } from '../../src/ingest/budget.js';
import { defaultEncodings } from '../../src/ingest/encodings.js';
import { Ingest } from '../../src/ingest/ingest.js';
import { RawForward } from '../../src/ingest/raw-forward.js';
import { Registry } from '../../src/metrics/registry.js';
import { SnappyCompressor } from '../../src/wire/snappy-compress.js';
import { isZstd } from '../../src/wire/zstd.js';
import { datasource, haveCli, LIMIT, metric, request, zstdCli } from './forward-helpers.js';

/** Until ingest's consumer has scored and released the requests written (it runs on setImmediate). */
async function scored(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

/** write() and wait until its request slot is back in the pool. */
async function write(ingest: Ingest, body: Uint8Array, encoding: string): Promise<{ status: number; message: string }> {
  const r = await ingest.write(body, null, encoding);
  await scored();
  return r;
}

function ingestOf(memory: MemoryBudget, registry: Registry, downstream: Downstream): Ingest {
  return new Ingest({
    maxBytes: LIMIT,
    maxSeriesPerRequest: 1_000_000,
    maxSamplesPerRequest: 1_000_000,
    memory,
    defaultTenant: null,
    encodings: defaultEncodings(),
    downstream,
    consume: (q) => {
      q.release(q.take()!);
      return Promise.resolve();
    },
    registry,
    log: pino({ level: 'silent' }),
  });
}

test('TrimSchedule: a timer only while a pool is armed; each run trims what is due and re-arms for the rest', () => {
  const schedule = new TrimSchedule();
  assert.equal(schedule.pending, false, 'nothing armed: no timer');
  const t0 = Date.now();
  let dues = [t0 + POOL_IDLE_MS, t0 + 2 * POOL_IDLE_MS];
  const runs: number[] = [];
  const pool: Trimmable = {
    shrink: (now) => {
      runs.push(now);
      dues = dues.filter((d) => d > now);
      return dues.length > 0 ? Math.min(...dues) : Infinity;
    },
  };
  schedule.arm(pool, dues[0]);
  assert.equal(schedule.pending, true);
  schedule.run(t0 + POOL_IDLE_MS);
  assert.deepEqual(dues, [t0 + 2 * POOL_IDLE_MS], 'the first is trimmed');
  assert.equal(schedule.pending, true, 'armed again for the second');
  schedule.run(t0 + 2 * POOL_IDLE_MS);
  assert.equal(schedule.pending, false, 'nothing left grown: no timer');
  schedule.run(t0 + 3 * POOL_IDLE_MS);
  assert.equal(runs.length, 2, 'a pool with nothing grown is not asked again until it arms');
});

test('ingest: an idle instance has no trim timer; a grown request slot arms it, and it stops once the slot is trimmed back', async () => {
  const ds = await datasource(() => 204);
  const downstream = new Downstream({ url: ds.url, timeoutMs: 30_000 });
  try {
    const memory = new MemoryBudget(1 << 30);
    const ingest = ingestOf(memory, new Registry(), downstream);
    assert.equal(memory.trims.pending, false, 'no timer before any request');
    assert.equal((await write(ingest, request(1).snappy, 'snappy')).status, 204);
    assert.equal(memory.trims.pending, true, 'a request grew the slot past its first size (its snappy output buffer): the timer is armed');
    memory.trims.run(Date.now() + POOL_IDLE_MS + 1000);
    assert.equal(memory.trims.pending, false, 'trimmed back to its first size: no timer');
    const base = memory.used;
    assert.equal((await write(ingest, request(5000).snappy, 'snappy')).status, 204);
    assert.ok(memory.used > base, 'the slot grew');
    assert.equal(memory.trims.pending, true, 'a grown slot arms the timer');
    memory.trims.run(Date.now() + 1000);
    assert.ok(memory.used > base, 'used within POOL_IDLE_MS: kept');
    assert.equal(memory.trims.pending, true);
    memory.trims.run(Date.now() + POOL_IDLE_MS + 1000);
    assert.equal(memory.used, base, 'idle: trimmed back to its first size');
    assert.equal(memory.trims.pending, false, 'nothing grown: no timer');
  } finally {
    await downstream.close();
    await ds.close();
  }
});

test('a zstd body re-encoded as snappy: the compressor is taken from server.max_memory_bytes first (503, nothing held, when it does not fit), shows in anomstream_memory_bytes while held, and is dropped once idle', async (t) => {
  if (!haveCli(t)) return;
  const registry = new Registry();
  let readsZstd = true;
  const heldWhileSent: number[] = [];
  const ds = await datasource(({ body }) => {
    if (isZstd(body)) return readsZstd ? 204 : 400; // VictoriaMetrics 1.79.5: "snappy: corrupt input"
    heldWhileSent.push(metric(registry, 'anomstream_memory_bytes'));
    return 204;
  });
  const downstream = new Downstream({ url: ds.url, timeoutMs: 30_000 });
  try {
    const memory = new MemoryBudget(1 << 30);
    const ingest = ingestOf(memory, registry, downstream);
    const { raw } = request(20_000);
    const body = zstdCli(raw);
    const reencoding = SnappyCompressor.memoryAfter(undefined, raw.length);
    t.diagnostic(`decoded ${raw.length} bytes, zstd ${body.length}, a compressor for it ${reencoding}`);
    assert.equal((await write(ingest, body, 'zstd')).status, 204, 'a datasource that reads zstd: no re-encoding');
    const held = memory.used; // the request slot and the zstd decoder, kept

    // Other requests hold all of the budget but one byte less than the re-encoding needs (more than decompressing it again needs).
    readsZstd = false;
    const others = memory.capacity - held - (reencoding - 1);
    assert.ok(memory.take(others));
    const refused = await write(ingest, body, 'zstd');
    assert.equal(refused.status, 503, `no room to re-encode: 503 (${refused.message})`);
    assert.match(refused.message, /server\.max_memory_bytes/);
    assert.equal(heldWhileSent.length, 0, 'nothing re-encoded was sent');
    assert.equal(memory.used, held + others, 'nothing held after the refusal');
    assert.equal(metric(registry, 'anomstream_write_requests_refused_total{reason="server.max_memory_bytes"}'), 1);

    memory.give(others);
    assert.equal((await write(ingest, body, 'zstd')).status, 204, 'with room: re-encoded and accepted');
    assert.equal(heldWhileSent.length, 1);
    assert.equal(heldWhileSent[0], held + reencoding, 'anomstream_memory_bytes counts the compressor while its re-encoding is sent');
    assert.equal(memory.used, held + reencoding, 'kept for the next re-encoding, still counted');
    assert.equal((await write(ingest, body, 'zstd')).status, 204);
    assert.equal(memory.used, held + reencoding, 'reused: no more taken');
    assert.equal(memory.trims.pending, true);

    memory.trims.run(Date.now() + POOL_IDLE_MS + 1000);
    assert.ok(memory.used < held, `idle: the compressor (and the grown slot and decoder) given back: ${memory.used} < ${held}`);
    assert.equal(memory.trims.pending, false, 'nothing grown left: no timer');
  } finally {
    await downstream.close();
    await ds.close();
  }
});

test('re-encoding compressors kept for reuse: at most a quarter of server.max_memory_bytes; one released past it is dropped at once', async (t) => {
  if (!haveCli(t)) return;
  const { raw } = request(5000);
  const body = zstdCli(raw);
  const one = SnappyCompressor.memoryAfter(undefined, raw.length);
  // Two re-encodings in flight at once: the datasource answers the snappy POSTs once both arrived.
  const waiting: (() => void)[] = [];
  const ds = await datasource(({ body }) => {
    if (isZstd(body)) return 400;
    return new Promise<number>((resolve) => {
      waiting.push(() => resolve(204));
      if (waiting.length === 2) for (const w of waiting.splice(0)) w();
    });
  });
  const downstream = new Downstream({ url: ds.url, timeoutMs: 30_000 });
  try {
    const memory = new MemoryBudget(6 * one); // keeps 1.5 compressors' worth
    const encodings = defaultEncodings();
    const zstd = encodings.get('zstd')!;
    const forward = new RawForward(downstream, encodings, new Registry(), pino({ level: 'silent' }), Date.now, undefined, memory);
    const results = await Promise.all([forward.post('/api/v1/write', body, zstd, raw), forward.post('/api/v1/write', body, zstd, raw)]);
    assert.deepEqual(
      results.map((r) => r.outcome),
      ['accepted', 'accepted'],
    );
    assert.equal(memory.peak, 2 * one, 'both compressors counted while their re-encodings were in flight');
    assert.equal(memory.used, one, 'one kept; the second, past a quarter of the budget, given back');
    memory.trims.run(Date.now() + POOL_IDLE_MS + 1000);
    assert.equal(memory.used, 0, 'idle: none kept');
    assert.equal(memory.trims.pending, false);
  } finally {
    await downstream.close();
    await ds.close();
  }
});
