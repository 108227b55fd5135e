/**
 * SIGTERM under load from keep-alive senders (the real process, a real VictoriaMetrics behind
 * it): vmagent and Prometheus keep their connections open and write the next request as soon as
 * the last is answered, so at any instant some connection looks idle to anomstream while its
 * sender is already writing into it. Closing such a connection resets the sender (ECONNRESET: a
 * spurious error in its log, and a retry). The stop must answer every request that reached it,
 * 2xx or retryable, with `Connection: close`, close a connection only after it stayed quiet for a
 * while, and refuse new connections (nothing sent: the sender retries against the next
 * instance); every sample answered 2xx is in VictoriaMetrics.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import { Client } from 'undici';
import { VM_BIN, buildWriteRequest, configYaml, requireBinaries, sleep } from './harness.js';
import { withVictoriaMetrics } from './stack.js';

const SENDERS = 8;
/** Each sender's bound: at most this many requests, and none started after LOAD_MS. */
const MAX_REQUESTS = 5000;
const LOAD_MS = 15_000;

/** The outcome of every request a sender attempted. */
interface Tally {
  ok: number;
  retryable: number;
  /** Anything else answered (4xx): a failure. */
  other: number[];
  /** Connection refused before anything was sent: the stop's listener is closed (not an error). */
  refused: number;
  /** Socket errors on a request that was sent (ECONNRESET, EPIPE, "other side closed"): failures. */
  errors: string[];
  /** Timestamps of the samples answered 2xx. */
  accepted: number[];
}

/** The first `code` along an error's cause chain (undici wraps the socket's). */
function codeOf(e: unknown): string {
  for (let c = e as { code?: string; cause?: unknown; message?: string } | undefined; c; c = c.cause as typeof c) {
    if (c.code && c.code !== 'UND_ERR_SOCKET') return c.code;
  }
  const top = e as { code?: string; message?: string };
  return `${top.code ?? 'error'}: ${top.message ?? String(e)}`;
}

type Send = (body: Uint8Array) => Promise<number>;

/** An undici Client: one keep-alive connection, as vmagent's and Prometheus' queue shards keep. */
function undiciSender(url: string): { send: Send; close: () => Promise<void> } {
  const c = new Client(url, { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 60_000 });
  return {
    send: async (body) => {
      const r = await c.request({ method: 'POST', path: '/api/v1/write', body: Buffer.from(body), headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' } });
      await r.body.dump();
      return r.statusCode;
    },
    close: () => c.destroy(),
  };
}

/** node:http with a keep-alive Agent of one socket. */
function nodeSender(url: string): { send: Send; close: () => Promise<void> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const u = new URL(url);
  return {
    send: (body) =>
      new Promise((resolve, reject) => {
        const req = http.request(
          { agent, host: u.hostname, port: u.port, path: '/api/v1/write', method: 'POST', headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf', 'content-length': body.length } },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      }),
    close: async () => agent.destroy(),
  };
}

/** Sends one sample per request of series shutdown_keepalive{sender=i} until refused, the bound, or `stop`. */
async function load(i: number, send: Send, t0: number, stop: () => boolean): Promise<Tally> {
  const t: Tally = { ok: 0, retryable: 0, other: [], refused: 0, errors: [], accepted: [] };
  const end = Date.now() + LOAD_MS;
  for (let n = 0; n < MAX_REQUESTS && Date.now() < end && !stop(); n++) {
    const ts = t0 + n;
    const body = buildWriteRequest([{ labels: { __name__: 'shutdown_keepalive', sender: String(i) }, timestamps: [ts], values: [n] }]);
    try {
      const status = await send(body);
      if (status >= 200 && status < 300) {
        t.ok++;
        t.accepted.push(ts);
      } else if (status === 429 || status >= 500) t.retryable++;
      else t.other.push(status);
    } catch (e) {
      const code = codeOf(e);
      if (code === 'ECONNREFUSED') {
        t.refused++;
        break;
      }
      t.errors.push(code);
      // The sender would retry; here the error is counted and the load goes on.
    }
  }
  return t;
}

test('SIGTERM mid-load from keep-alive senders: no connection reset, every request answered 2xx or retryable, every 2xx sample in VictoriaMetrics', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  await withVictoriaMetrics(
    t,
    (port, ds) => configYaml({ port, datasourceUrl: ds, queries: { q: 'shutdown_keepalive' } }),
    async (vm, anom) => {
      const t0 = Date.now() - 3_600_000;
      let exited = false;
      const senders = Array.from({ length: SENDERS }, (_, i) => (i % 2 === 0 ? undiciSender(anom.url) : nodeSender(anom.url)));
      const runs = senders.map((s, i) => load(i, s.send, t0, () => exited));
      await sleep(2000);
      const warm = await anom.metric('anomstream_connections');
      anom.proc.child.kill('SIGTERM');
      const code = await anom.proc.wait();
      exited = true;
      const tallies = await Promise.all(runs);
      await Promise.all(senders.map((s) => s.close()));
      const sum = (f: (x: Tally) => number): number => tallies.reduce((a, x) => a + f(x), 0);
      const errors = tallies.flatMap((x) => x.errors);
      t.diagnostic(
        `connections before SIGTERM ${warm}; answered 2xx ${sum((x) => x.ok)}, retryable ${sum((x) => x.retryable)}, refused at connect ${sum((x) => x.refused)}, socket errors ${errors.length} ${JSON.stringify(errors)}`,
      );
      assert.equal(code, 0, `anomstream exits 0 after SIGTERM\n${anom.proc.tail()}`);
      assert.ok(sum((x) => x.ok) > SENDERS * 10, 'the senders were under way when SIGTERM came');
      assert.deepEqual(errors, [], 'no sender saw its connection reset or closed under a request');
      assert.deepEqual(
        tallies.flatMap((x) => x.other),
        [],
        'every request answered is 2xx or retryable',
      );
      const stored = await vm.exportSeries('shutdown_keepalive');
      for (let i = 0; i < SENDERS; i++) {
        const series = stored.find((s) => s.metric.sender === String(i));
        const have = new Set(series?.timestamps ?? []);
        const missing = tallies[i].accepted.filter((ts) => !have.has(ts));
        assert.deepEqual(missing.length, 0, `sender ${i}: ${missing.length} of ${tallies[i].accepted.length} samples answered 2xx are missing from VictoriaMetrics`);
      }
    },
  );
});
