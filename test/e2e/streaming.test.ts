/**
 * Streaming realities through the whole pipeline (in-process anomstream, a real HTTP downstream
 * that records what it receives): stale markers end generated series, NaN is forwarded but not
 * learned, duplicates (retries) are not learned twice, counters are scored after
 * `transform: rate` with resets handled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { REMOTE_WRITE_HEADERS, decodeWriteRequest, encodeWriteRequest, request, snappyCompress, snappyUncompress, type InputSeries } from './harness.js';
import { RecordingServer } from './writer-support.js';

const STALE = Buffer.from([2, 0, 0, 0, 0, 0, 0xf0, 0x7f]);
const SENTINEL = 123456.789; // replaced on the wire by the stale-marker bits

async function withApp(queries: string, fn: (send: (s: InputSeries[]) => Promise<number>, srv: RecordingServer, metric: (name: string) => Promise<number>) => Promise<void>, extra = ''): Promise<void> {
  const srv = await RecordingServer.start();
  const cfg = parseConfig(
    parseYaml(
      `server: { listen: "127.0.0.1:0" }\nreader:\n  queries:\n${queries}\nmodels: { m: { class: zscore_online, min_n_samples_seen: 5 } }\nwriter: { datasource_url: "${srv.url}" }\nstate: { path: '' }\n${extra}`,
    ),
  );
  const app = await startApp(cfg, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${app.receiver.address().port}`;
  const send = async (series: InputSeries[]): Promise<number> => {
    const raw = Buffer.from(encodeWriteRequest(series));
    // Patch the sentinel value's bytes into the exact stale-marker bits.
    const sentinel = Buffer.alloc(8);
    sentinel.writeDoubleLE(SENTINEL);
    for (let i = raw.indexOf(sentinel); i >= 0; i = raw.indexOf(sentinel, i + 8)) STALE.copy(raw, i);
    const r = await request(`${url}/api/v1/write`, { method: 'POST', body: snappyCompress(raw), headers: REMOTE_WRITE_HEADERS });
    await app.drain();
    return r.status;
  };
  /** A metric summed over its label sets (NaN when absent). */
  const metric = async (name: string): Promise<number> => {
    const text = (await request(`${url}/metrics`)).body.toString();
    const lines = text.split('\n').filter((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return lines.length === 0 ? NaN : lines.reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  };
  try {
    await fn(send, srv, metric);
  } finally {
    await app.close(1000);
    await srv.close();
  }
}

/** Generated samples received, by output name: [timestamp, value, raw 8 bytes of the value][]. */
function generated(srv: RecordingServer): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const p of srv.posts()) {
    for (const ts of decodeWriteRequest(p.body).timeseries ?? []) {
      const labels = Object.fromEntries((ts.labels ?? []).map((l) => [l.name, l.value]));
      if (!labels.for) continue;
      const list = out.get(labels.__name__) ?? [];
      for (const s of ts.samples ?? []) list.push([s.timestamp, s.value]);
      out.set(labels.__name__, list);
    }
  }
  return out;
}

const T0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;

test('a stale marker on a scored series writes stale markers to each of its generated series; NaN is forwarded, not learned', async () => {
  await withApp("    cpu: 'cpu_load'", async (send, srv, metric) => {
    const n = 12;
    const values = Array.from({ length: n }, (_, i) => 5 + (i % 3) * 0.1);
    values[8] = NaN; // a plain NaN: forwarded, not scored
    const ts = values.map((_, i) => T0 + i * 15_000);
    assert.equal(await send([{ labels: { __name__: 'cpu_load', host: 'a' }, timestamps: ts, values }]), 204);
    assert.equal(await send([{ labels: { __name__: 'cpu_load', host: 'a' }, timestamps: [T0 + n * 15_000], values: [SENTINEL] }]), 204);
    const raw = srv.posts().filter((p) => !decodeWriteRequest(p.body).timeseries?.some((t) => t.labels?.some((l) => l.name === 'for')));
    assert.equal(raw.length, 2, 'both raw requests forwarded');
    assert.ok(raw[1].body.length > 0 && snappyIncludes(raw[1].body, STALE), 'the stale marker is forwarded bit for bit');
    const gen = generated(srv);
    assert.deepEqual([...gen.keys()].sort(), ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper']);
    for (const [name, samples] of gen) {
      const times = samples.map(([t]) => t);
      assert.ok(!times.includes(T0 + 8 * 15_000), `${name}: no output for the NaN sample`);
      const last = samples[samples.length - 1];
      assert.equal(last[0], T0 + n * 15_000, `${name}: last sample is at the stale marker's time`);
      assert.ok(Number.isNaN(last[1]), `${name}: last sample is NaN`);
    }
    // Stale bits, exactly: every generated request holding a NaN holds the stale pattern.
    const genBodies = srv.posts().filter((p) => decodeWriteRequest(p.body).timeseries?.some((t) => t.labels?.some((l) => l.name === 'for')));
    assert.ok(snappyIncludes(genBodies[genBodies.length - 1].body, STALE), 'generated stale markers carry the exact stale bits');
    assert.equal(await metric('anomstream_samples_not_learned_total{reason="non_finite"}'), 1);
  });
});

test('a retried request is forwarded again but neither learned nor scored twice; the same samples in another request are not learned twice either', async () => {
  await withApp("    cpu: 'cpu_load'", async (send, srv, metric) => {
    const s: InputSeries = { labels: { __name__: 'cpu_load', host: 'b' }, timestamps: Array.from({ length: 10 }, (_, i) => T0 + i * 15_000), values: Array.from({ length: 10 }, (_, i) => 1 + (i % 2)) };
    assert.equal(await send([s]), 204);
    const before = generated(srv).get('anomaly_score')!.length;
    assert.equal(await send([s]), 204);
    assert.equal(generated(srv).get('anomaly_score')!.length, before, 'no generated samples for the duplicate');
    assert.equal(srv.posts().length, 3, 'raw forwarded twice, generated once');
    assert.equal(await metric('anomstream_write_requests_duplicate_total'), 1, 'recognised as a retry (the same bytes)');
    // The same samples again, in a request with another series too (not byte-identical): the
    // newest point is a duplicate (no score), the older ones are judged, not learned.
    const other: InputSeries = { labels: { __name__: 'cpu_load', host: 'z' }, timestamps: [T0], values: [1] };
    assert.equal(await send([s, other]), 204);
    assert.equal(await metric('anomstream_samples_not_learned_total{reason="duplicate"}'), 1);
    assert.equal(await metric('anomstream_samples_not_learned_total{reason="out_of_order"}'), 9);
    assert.equal(await metric('anomstream_samples_scored_total'), 10 + 1, 'learned once each (and the new series once)');
  });
});

test('transform: rate scores the per-second rate of a counter, a reset counts as a restart from 0, and y is written', async () => {
  await withApp("    req: { expr: 'http_requests_total', transform: rate }", async (send, srv) => {
    // +30 per 15 s = 2/s; after point 10 the counter restarts from 0 and reads 30 at point 11:
    // counted as a restart that is 30 in 15 s, the same 2/s (not (30 - 1300) / 15 < 0).
    const values: number[] = [];
    for (let i = 0, v = 1000; i < 20; i++) {
      if (i === 11) v = 30;
      values.push(v);
      v += 30;
    }
    const ts = values.map((_, i) => T0 + i * 15_000);
    assert.equal(await send([{ labels: { __name__: 'http_requests_total', code: '200' }, timestamps: ts, values }]), 204);
    const y = generated(srv).get('y');
    assert.ok(y, 'y is written when a transform applies');
    // First point has no rate; warm-up of 5 rates; then every point's y is the rate.
    for (const [t, v] of y) {
      const i = ts.indexOf(t);
      assert.ok(i > 5, `no output during warm-up (got ${i})`);
      assert.equal(v, 2, `rate at point ${i}`);
    }
    assert.equal(y.length, 20 - 1 - 5);
    const scores = generated(srv).get('anomaly_score')!;
    assert.ok(
      scores.every(([, v]) => v <= 1),
      'a counter reset is not an anomaly',
    );
  });
});

test('a series idle for limits.series_idle_timeout is forgotten and warms up again when it returns', async () => {
  await withApp(
    "    cpu: 'cpu_load'",
    async (send, srv, metric) => {
      const mk = (from: number): InputSeries => ({
        labels: { __name__: 'cpu_load', host: 'c' },
        timestamps: Array.from({ length: 8 }, (_, i) => T0 + (from + i) * 15_000),
        values: Array.from({ length: 8 }, (_, i) => 3 + (i % 2) * 0.1),
      });
      assert.equal(await send([mk(0)]), 204);
      assert.equal(generated(srv).get('anomaly_score')!.length, 8 - 5, 'scored after a 5-point warm-up');
      assert.equal(await metric('anomstream_series'), 1);
      const deadline = Date.now() + 10_000;
      while ((await metric('anomstream_series_evicted_total')) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await metric('anomstream_series_evicted_total'), 1);
      assert.equal(await metric('anomstream_series'), 0);
      assert.equal(await metric('anomstream_scored_series'), 0);
      assert.equal(await send([mk(8)]), 204);
      assert.equal(generated(srv).get('anomaly_score')!.length, 2 * (8 - 5), 'the returning series warmed up again (its old state was freed)');
    },
    'limits: { series_idle_timeout: 1s }\n',
  );
});

/** Does the decompressed body contain these bytes? (harness snappy: independent of src/decode) */
function snappyIncludes(body: Buffer, needle: Buffer): boolean {
  return Buffer.from(snappyUncompress(body)).includes(needle);
}
