/**
 * Generated series are retried (issue 16 item 5) and writer.connection_retry_attempts
 * (vmanomaly 1.29.2) still means "resend at once when no answer came". A real HTTP server on
 * 127.0.0.1 answers each request as the test scripts it (drop the socket, a status).
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { RetryingSink } from '../../src/emit/retrying-sink.js';
import { generatedSinkFor, RemoteWriteSink } from '../../src/emit/sinks.js';
import { Downstream } from '../../src/forward/downstream.js';
import { Registry } from '../../src/metrics/registry.js';

/** A server answering request i with script(i): a status, or 0 to destroy the socket without an answer. */
async function scripted(script: (i: number) => number): Promise<{ url: string; bodies: Buffer[]; requests: () => number; close: () => Promise<void> }> {
  let n = 0;
  const bodies: Buffer[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = script(n++);
      if (status === 0) return req.socket.destroy();
      if (status < 300) bodies.push(Buffer.concat(chunks));
      res.writeHead(status).end(status >= 400 ? `scripted ${status}` : undefined);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    requests: () => n,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

const silent = pino({ level: 'silent' });

function metric(reg: Registry, name: string, labels = ''): number {
  const line = reg
    .render()
    .split('\n')
    .find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function withSink(
  script: (i: number) => number,
  opts: { attempts?: number; budget?: number; backoffMs?: number },
  fn: (sink: RetryingSink, srv: Awaited<ReturnType<typeof scripted>>, reg: Registry) => Promise<void>,
): Promise<void> {
  const srv = await scripted(script);
  const reg = new Registry();
  const ds = new Downstream({ url: new URL(srv.url), timeoutMs: 2000 });
  try {
    const sink = new RetryingSink(new RemoteWriteSink(ds), {
      connectionRetries: opts.attempts ?? 1,
      budgetBytes: opts.budget ?? 1 << 20,
      registry: reg,
      log: silent,
      minBackoffMs: opts.backoffMs ?? 20,
      maxBackoffMs: opts.backoffMs ?? 100,
      random: () => 0.5,
    });
    await fn(sink, srv, reg);
  } finally {
    await ds.close();
    await srv.close();
  }
}

test('connection_retry_attempts: a write without an answer is resent at once that many times (default 1)', async () => {
  for (const [attempts, drop, status, requests] of [
    [undefined, 1, 204, 2],
    [2, 2, 204, 3],
    [0, 1, 0, 1],
    [1, 5, 0, 2],
  ] as const) {
    const srv = await scripted((i) => (i < drop ? 0 : 204));
    const writer = parseConfig({
      reader: { queries: { q: 'up' } },
      writer: { datasource_url: srv.url, ...(attempts === undefined ? {} : { connection_retry_attempts: attempts }), generated_buffer_bytes: 0 },
    }).writer;
    const ds = new Downstream({ url: new URL(writer.datasource_url), timeoutMs: 2000 });
    try {
      const r = await generatedSinkFor(writer, ds, new Registry(), silent).send(null, new Uint8Array([0]));
      assert.deepEqual({ status: r.status, requests: srv.requests() }, { status, requests }, `attempts ${attempts}, ${drop} dropped`);
    } finally {
      await ds.close();
      await srv.close();
    }
  }
});

test('503 three times, then 204: the block is retried with backoff and arrives once; send() settles at the first failure', async () => {
  await withSink(
    (i) => (i < 3 ? 503 : 204),
    {},
    async (sink, srv, reg) => {
      const body = new Uint8Array([1, 2, 3]);
      const r = await sink.send(null, body);
      assert.equal(r.status, 503, 'send() settles with the first answer (the Emitter then reuses its buffer)');
      body.fill(9); // the Emitter's buffer is reused: the sink must have kept a copy
      assert.equal(sink.bufferedBytes, 3);
      // The server holds the body before its 204 is back at the sink: wait for the sink to settle too.
      await until('the block to arrive and leave the queue', () => srv.bodies.length === 1 && sink.bufferedBytes === 0);
      assert.deepEqual([...srv.bodies[0]], [1, 2, 3]);
      assert.equal(srv.requests(), 4);
      assert.equal(sink.bufferedBytes, 0);
      assert.equal(metric(reg, 'anomstream_generated_write_errors_total'), 3);
      assert.equal(metric(reg, 'anomstream_generated_retries_total'), 3);
      assert.equal(metric(reg, 'anomstream_generated_retried_blocks_total'), 1);
      assert.equal(metric(reg, 'anomstream_generated_buffer_bytes'), 0);
    },
  );
});

test('a 4xx other than 429/408/401/403 is dropped at once, counted; 429 and 401 are retried', async () => {
  await withSink(
    (i) => [400, 429, 401, 204][i] ?? 204,
    {},
    async (sink, srv, reg) => {
      const r = await sink.send(null, new Uint8Array([1]));
      assert.equal(r.outcome, 'rejected');
      assert.equal(sink.bufferedBytes, 0, 'nothing kept for a block that can never be taken');
      assert.equal(metric(reg, 'anomstream_generated_dropped_total', 'reason="rejected"'), 1);
      await sink.send(null, new Uint8Array([2]));
      await until('the second block after 429 and 401', () => srv.bodies.length === 1);
      assert.deepEqual([...srv.bodies[0]], [2]);
    },
  );
});

test('past writer.generated_buffer_bytes the oldest blocks are dropped and counted; the newest arrive once the datasource is back', async () => {
  let down = true;
  await withSink(
    () => (down ? 503 : 204),
    // The first retry waits 1.5 s (75 % of 2 s): the five first attempts end before it, so no
    // block is in flight (and kept) when the budget drops the oldest. With 15 ms, a slow machine
    // retried block 0 during the sends and kept it ([0, 4] arrived).
    { budget: 250, backoffMs: 2000 },
    async (sink, srv, reg) => {
      for (let b = 0; b < 5; b++) await sink.send(null, new Uint8Array(100).fill(b));
      assert.equal(srv.requests(), 5, 'the five first attempts, no retry yet (the sends took longer than the first backoff)');
      assert.equal(sink.bufferedBytes, 200, 'two blocks of 100 B fit in 250 B');
      assert.equal(metric(reg, 'anomstream_generated_dropped_total', 'reason="buffer_full"'), 3);
      down = false;
      await until('the two kept blocks', () => srv.bodies.length === 2, 10_000);
      assert.deepEqual(
        srv.bodies.map((b) => b[0]),
        [3, 4],
        'the newest two, oldest first',
      );
    },
  );
});

test('flush(deadline) sends what is queued; what the datasource still refuses at the deadline is dropped as shutdown', async () => {
  let ok = false;
  await withSink(
    () => (ok ? 204 : 503),
    {},
    async (sink, srv, reg) => {
      await sink.send(null, new Uint8Array([7]));
      ok = true;
      await sink.flush(Date.now() + 10_000); // returns once the queue is empty; the deadline is only a bound
      assert.equal(srv.bodies.length, 1, 'sent before the deadline');
      ok = false;
      await sink.send(null, new Uint8Array([8]));
      await sink.flush(Date.now() + 200);
      await until('a retry in flight at the deadline to end', () => sink.bufferedBytes === 0);
      assert.equal(metric(reg, 'anomstream_generated_dropped_total', 'reason="shutdown"'), 1);
    },
  );
});

test('a reload that replaces the writer hands the blocks held for retrying to the new sink: they reach the new datasource, not the retired one', async () => {
  const down = await scripted(() => 503);
  const up = await scripted(() => 204);
  const reg = new Registry();
  const opts = { connectionRetries: 0, budgetBytes: 1 << 20, registry: reg, log: silent, minBackoffMs: 60_000, maxBackoffMs: 60_000, random: () => 0.5 };
  const dsDown = new Downstream({ url: new URL(down.url), timeoutMs: 2000 });
  const dsUp = new Downstream({ url: new URL(up.url), timeoutMs: 2000 });
  try {
    const old = new RetryingSink(new RemoteWriteSink(dsDown), opts);
    assert.equal((await old.send(null, new Uint8Array([1, 1]))).status, 503);
    assert.equal((await old.send(null, new Uint8Array([2, 2, 2]))).status, 503);
    assert.equal(old.bufferedBytes, 5, 'both held, waiting out a 60 s backoff');
    const next = new RetryingSink(new RemoteWriteSink(dsUp), { ...opts, minBackoffMs: 20, maxBackoffMs: 20 });
    old.handOver(next);
    assert.equal(old.bufferedBytes, 0, 'nothing left on the retired sink');
    // A first attempt still going to the old datasource when the reload came, failing after it, follows.
    assert.equal((await old.send(null, new Uint8Array([3]))).status, 503);
    assert.equal(old.bufferedBytes, 0);
    await until('the new datasource holds the three blocks', () => up.bodies.length === 3 && next.bufferedBytes === 0);
    assert.deepEqual(
      up.bodies.map((b) => [...b]).sort((a, b) => a.length - b.length),
      [[3], [1, 1], [2, 2, 2]],
    );
    assert.equal(down.requests(), 3, 'the old datasource saw only the three first attempts: no retry went there');
  } finally {
    await Promise.all([dsDown.close(), dsUp.close()]);
    await Promise.all([down.close(), up.close()]);
  }
});
