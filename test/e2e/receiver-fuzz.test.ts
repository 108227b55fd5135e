/**
 * Issue 17 item 8: the receiver under FUZZ_REQUESTS random and mutated requests (test/e2e/fuzz.ts:
 * bit flips, truncations, huge varints, label bombs, snappy and zstd bombs, random bytes, every
 * Content-Encoding form) from 8 connections, anomstream (a real process, server.max_memory_bytes
 * 256 MiB) forwarding to a sink that keeps a digest of every body: every answer 204, 400, 415 or
 * 503 and none missing (30 s each), well-formed requests 204, every 204's body forwarded (byte
 * for byte, or a snappy one merged with others waiting for the same POST: every field of its
 * WriteRequest in a POST), the process up at the end, its peak RSS (VmHWM) <= max_memory_bytes + 200 MB.
 * `npm test` sends 20,000 (FUZZ_REQUESTS overrides); `npm run fuzz` 100,000.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { DigestSink, ZSTD_BIN, fuzz } from './fuzz.js';
import { configYaml, requireBinaries } from './harness.js';
import { withDownstream } from './stack.js';

const MiB = 1 << 20;
const BUDGET = 256 * MiB;
const COUNT = Number(process.env.FUZZ_REQUESTS ?? 20_000);
const SEED = Number(process.env.FUZZ_SEED ?? 17);

test(`fuzz: ${COUNT} random and mutated requests: only 204/400/415/503, every 204 forwarded, no crash, peak RSS <= max_memory_bytes + 200 MB`, { timeout: 60 * 60_000 }, async (t) => {
  if (!requireBinaries(t, ZSTD_BIN)) return;
  await withDownstream(
    t,
    () => DigestSink.start(),
    (port, datasourceUrl) => configYaml({ port, datasourceUrl, server: `max_memory_bytes: ${BUDGET}` }),
    async (sink, anom) => {
      const r = await fuzz(`${anom.url}/api/v1/write`, sink, COUNT, 8, SEED);
      const pid = anom.proc.child.pid!;
      const hwm = existsSync(`/proc/${pid}/status`) ? Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024 : NaN;
      t.diagnostic(`${r.sent} requests in ${r.seconds.toFixed(0)} s (${(r.sent / r.seconds).toFixed(0)}/s); sink got ${sink.posts} POSTs; peak RSS ${(hwm / MiB).toFixed(0)} MiB`);
      for (const [kind, statuses] of Object.entries(r.byKind))
        t.diagnostic(
          `${kind}: ${Object.entries(statuses)
            .map(([s, n]) => `${n} x ${s}`)
            .join(', ')}`,
        );
      assert.equal(r.sent, COUNT);
      assert.deepEqual(r.problems.slice(0, 20), [], `${r.problems.length} problems`);
      assert.ok(anom.proc.running, 'anomstream is still running');
      assert.ok(hwm <= BUDGET + 200 * MiB, `peak RSS ${(hwm / MiB).toFixed(0)} MiB <= ${BUDGET / MiB + 200} MiB`);
      for (const kind of ['valid', 'valid-zstd', 'bitflip', 'truncate', 'varint', 'label-bomb', 'random', 'encoding']) assert.ok(r.byKind[kind], `the run sent ${kind} requests`);
    },
  );
});
