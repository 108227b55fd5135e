// Bench report helpers: --trace-gc parsing (compare.ts), .cpuprofile self time (cpuprof-top.ts), and the
// load runner's latency warm-up skip. No timing is asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { gcSummary } from '../../bench/compare.js';
import { stages, topSelf } from '../../bench/cpuprof-top.js';
import { buildPool } from '../../bench/load/pool.js';
import { runLoad } from '../../bench/load/run.js';

test('gcSummary: pauses of V8 --trace-gc lines inside the window, by kind', () => {
  const lines = [
    '[123:0x5f0c0b0]      100 ms: Scavenge 9.8 (12.3) -> 9.1 (13.3) MB, 0.85 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure;',
    '[123:0x5f0c0b0]     1500 ms: Scavenge 19.8 (22.3) -> 19.1 (23.3) MB, 1.50 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure;',
    '[123:0x5f0c0b0]     1800 ms: Mark-Compact 50.1 (60.2) -> 40.0 (55.0) MB, 12.34 / 0.00 ms  (+ 5.6 ms in 30 steps since start of marking, biggest step 1.2 ms, walltime since start of marking 60 ms) (average mu = 0.9, current mu = 0.8) finalize incremental marking via task; GC in old space requested',
    'some log line',
    '[123:0x5f0c0b0]     9000 ms: Scavenge 9.8 (12.3) -> 9.1 (13.3) MB, 7.00 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure;',
  ];
  const s = gcSummary(lines, 1_000_000, 1_001_000, 1_002_000);
  assert.equal(s.count, 2);
  assert.ok(Math.abs(s.totalMs - 13.84) < 1e-9);
  assert.equal(s.maxMs, 12.34);
  assert.equal(s.p99Ms, 12.34);
  assert.deepEqual(s.kinds, { Scavenge: 1, 'Mark-Compact': 1 });
  assert.equal(gcSummary(lines, 0, 0, 10).count, 0);
});

test('topSelf: self time by function from samples and time deltas', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 } },
      { id: 2, callFrame: { functionName: 'decode', url: 'file:///x/dist/src/decode/snappy.js', lineNumber: 9 } },
      { id: 3, callFrame: { functionName: 'score', url: 'file:///x/dist/src/pipeline.js', lineNumber: 99 } },
    ],
    samples: [2, 2, 3, 2],
    timeDeltas: [0, 1000, 1000, 2000],
  };
  const top = topSelf(profile, 10);
  assert.equal(top[0].name, 'decode');
  assert.equal(top[0].where, 'dist/src/decode/snappy.js:10');
  assert.equal(top[1].name, 'score');
  assert.ok(Math.abs(top.reduce((x, r) => x + r.share, 0) - 1) < 1e-9);
  assert.equal(topSelf(profile, 10, true)[0].name, 'dist/src/decode/snappy.js');
});

test('runLoad: latencySkip leaves the first requests out of the latency figures, not out of the counts', async () => {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (server.address() as { port: number }).port;
    const pool = buildPool({ series: 100, samplesPerSeries: 10, samplesPerRequest: 50, intervalMs: 10_000, nowMs: Date.now() });
    const r = await runLoad(pool, { url: `http://127.0.0.1:${port}/api/v1/write`, concurrency: 2, rate: 0, durationS: 30, maxRequests: 1000, timeoutMs: 10_000, latencySkip: 5 });
    assert.equal(r.requests, 20);
    assert.equal(r.acceptedSamples, 1000);
    assert.equal(r.latencyCount, 15);
    assert.ok(Number.isFinite(r.latencyMs.p99));
  } finally {
    server.close();
  }
});

test('stages: a sample counts for the innermost anomstream frame; undici-only stacks are HTTP out; GC apart', () => {
  const f = (functionName: string, url: string) => ({ functionName, url, lineNumber: 0 });
  const profile = {
    nodes: [
      { id: 1, callFrame: f('(root)', ''), children: [2, 6, 8, 9] },
      { id: 2, callFrame: f('write', 'file:///x/dist/src/pipeline.js'), children: [3, 5] },
      { id: 3, callFrame: f('post', 'file:///x/dist/src/forward/downstream.js'), children: [4] },
      { id: 4, callFrame: f('writev', 'node:net'), children: [] },
      { id: 5, callFrame: f('decompress', 'file:///x/dist/src/decode/snappy.js'), children: [] },
      { id: 6, callFrame: f('onBody', 'file:///x/node_modules/undici/lib/x.js'), children: [7] },
      { id: 7, callFrame: f('emit', 'node:events'), children: [] },
      { id: 8, callFrame: f('(garbage collector)', ''), children: [] },
      { id: 9, callFrame: f('onread', 'node:internal/stream_base_commons'), children: [] },
    ],
    samples: [4, 4, 5, 7, 8, 9, 2],
    timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000],
  };
  const got = Object.fromEntries(stages(profile).map((r) => [r.stage, r.ms]));
  assert.deepEqual(got, {
    'HTTP out (raw + generated POSTs)': 3,
    'decode (snappy + WriteRequest)': 1,
    GC: 1,
    'node event loop + HTTP server (no anomstream frame)': 1,
    'pipeline loop (+ what V8 inlined into it)': 1,
  });
});
