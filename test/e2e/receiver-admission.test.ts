/**
 * Issue 17 acceptance, stall: 64 sockets trickling a body at 1 byte/s (reconnecting whenever they
 * are cut) and one connection pipelining 100 writes do not stall a normal sender: its 100 writes
 * all get 204 with p99 < 1 s, the pipelined ones all get 204, the tricklers get 503 and nothing of
 * theirs is forwarded. Real sockets (node:net, node:http) against anomstream's process with its
 * default server settings, in front of a real VictoriaMetrics.
 */
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import { test } from 'node:test';
import { REMOTE_WRITE_HEADERS, VM_BIN, buildWriteRequest, configYaml, distinctSamples, requireBinaries, waitFor, type InputSeries } from './harness.js';
import { withVictoriaMetrics } from './stack.js';

const TRICKLERS = 64;
const PIPELINED = 100;
const NORMAL = 100;

function oneSeries(name: string, i: number, now: number): InputSeries {
  return { labels: { __name__: name, job: 'admission', i: String(i) }, timestamps: [now - 60_000 + i], values: [i] };
}

/** Raw POST request bytes (headers + body) for a remote_write body. */
function rawPost(port: number, body: Uint8Array): Buffer {
  const head = [`POST /api/v1/write HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...Object.entries(REMOTE_WRITE_HEADERS).map(([k, v]) => `${k}: ${v}`), `Content-Length: ${body.length}`, '', ''].join('\r\n');
  return Buffer.concat([Buffer.from(head), body]);
}

/**
 * A sender that opens a connection, sends the headers of a 10 KB write and then one byte of body
 * per second; when the connection is cut it notes the status line it got and starts again, until
 * stop(). Returns the status lines seen.
 */
function trickler(port: number): { stop(): void; statuses: string[] } {
  const statuses: string[] = [];
  let stopped = false;
  let sock: net.Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const start = (): void => {
    if (stopped) return;
    const s = net.connect(port, '127.0.0.1');
    sock = s;
    let got = '';
    s.on('connect', () => {
      s.write([`POST /api/v1/write HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Content-Encoding: snappy', 'Content-Type: application/x-protobuf', 'Content-Length: 10000', '', ''].join('\r\n'));
      timer = setInterval(() => s.write(Buffer.of(0x0a)), 1000);
    });
    s.on('data', (d) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearInterval(timer);
      if (got) statuses.push(got.split('\r\n')[0]);
      setTimeout(start, 100);
    });
  };
  start();
  return {
    statuses,
    stop() {
      stopped = true;
      clearInterval(timer);
      sock?.destroy();
    },
  };
}

/** Sends `bodies` as pipelined requests in one write on one connection; resolves with the status codes answered. */
function pipelined(port: number, bodies: Uint8Array[]): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const codes = (): number[] => [...got.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`pipelined: ${codes().length} of ${bodies.length} answers after 60 s`));
    }, 60_000);
    s.on('connect', () => s.write(Buffer.concat(bodies.map((b) => rawPost(port, b)))));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (codes().length >= bodies.length) {
        clearTimeout(timer);
        s.end();
        resolve(codes());
      }
    });
    s.on('error', reject);
  });
}

function post(agent: http.Agent, port: number, body: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/v1/write', method: 'POST', agent, headers: { ...REMOTE_WRITE_HEADERS, 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('normal sender: no answer in 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

test('64 trickling sockets and a pipelining connection do not stall a normal sender (all 204, p99 < 1 s)', { timeout: 180_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  await withVictoriaMetrics(
    t,
    (port, datasourceUrl) => configYaml({ port, datasourceUrl, queries: { q: '{job="admission"}' } }),
    async (vm, anom) => {
      const now = Math.floor(Date.now() / 1000) * 1000;
      const tricklers = Array.from({ length: TRICKLERS }, () => trickler(anom.port));
      try {
        await new Promise((r) => setTimeout(r, 1500)); // every trickler connected and sending
        const pipeBodies = Array.from({ length: PIPELINED }, (_, i) => buildWriteRequest([oneSeries('admission_pipelined', i, now)]));
        const pipe = pipelined(anom.port, pipeBodies);
        const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
        const latencies: number[] = [];
        const statuses: number[] = [];
        for (let i = 0; i < NORMAL; i++) {
          const t0 = performance.now();
          statuses.push(await post(agent, anom.port, buildWriteRequest([oneSeries('admission_normal', i, now)])));
          latencies.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 50)); // ~7 s in all: the tricklers are cut and come back meanwhile
        }
        agent.destroy();
        const pipeCodes = await pipe;
        latencies.sort((a, b) => a - b);
        const p99 = latencies[Math.ceil(latencies.length * 0.99) - 1];
        t.diagnostic(`normal sender: p50 ${latencies[49].toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies[99].toFixed(1)} ms`);
        assert.deepEqual(statuses, Array(NORMAL).fill(204), 'every write of the normal sender is accepted');
        assert.ok(p99 < 1000, `normal sender's p99 ${p99.toFixed(0)} ms < 1 s`);
        assert.deepEqual(pipeCodes, Array(PIPELINED).fill(204), 'every pipelined write is accepted');
        const cut = tricklers.flatMap((x) => x.statuses);
        t.diagnostic(`tricklers were answered: ${[...new Set(cut)].join(', ')} (${cut.length} times)`);
        assert.ok(cut.length >= TRICKLERS, `each trickler was cut at least once (min_read_rate after 5 s): ${cut.length}`);
        assert.ok(
          cut.every((l) => l.startsWith('HTTP/1.1 503')),
          `tricklers get 503 (retried by every sender): ${[...new Set(cut)].join(', ')}`,
        );
      } finally {
        for (const x of tricklers) x.stop();
      }
      for (const [name, n] of [
        ['admission_normal', NORMAL],
        ['admission_pipelined', PIPELINED],
      ] as const) {
        const got = await waitFor(`${n} series ${name} in VictoriaMetrics`, async () => {
          const s = await vm.exportSeries(name);
          return s.length === n ? s : undefined;
        });
        for (const s of got) assert.deepEqual([...distinctSamples(s).values()], [Number(s.metric.i)]);
      }
      const all = await vm.exportSeries('{job="admission"}');
      assert.equal(all.length, NORMAL + PIPELINED, 'nothing else (no trickler byte) reached VictoriaMetrics');
    },
  );
});
