/**
 * Issue 17 acceptance, memory: server.max_memory_bytes and the per-request limits.
 *  - 64 concurrent snappy bombs (1.5 MB each, 32 MiB of empty TimeSeries decoded) against
 *    anomstream's process: it stays up, its peak RSS (VmHWM) stays under max_memory_bytes + 200 MB,
 *    its RSS is back within 10% (at least 16 MiB) of the baseline 60 s later, the bombs get 400 or 503, and a normal
 *    write still gets 204. The process runs with the malloc environment of deploy/ (without it
 *    glibc keeps ~50 MB of freed heap resident after the burst: 138 MiB vs a baseline of 88);
 *  - the same with 64 zstd bombs (frames announcing 32 MiB, made by the `zstd` CLI): the shared
 *    zstd decoder's memory shows in anomstream_memory_decoder_bytes (part of the budget) while it
 *    holds a bomb, and is given back (a fresh decoder) once idle, RSS back near the baseline;
 *  - limits.max_series_per_request / max_samples_per_request: 400 naming the setting, nothing
 *    forwarded; a request that does not fit in the budget: 503 (retry), nothing forwarded.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { join } from 'node:path';
import { CaptureServer, REMOTE_WRITE_HEADERS, REPO_ROOT, buildWriteRequest, configYaml, encodeWriteRequest, request, requireBinaries, sleep, snappyCompress, type InputSeries } from './harness.js';
import { withDownstream } from './stack.js';

const MiB = 1 << 20;
const BUDGET = 256 * MiB;
/**
 * How far above the baseline RSS "back near the baseline" may be, at least. glibc's main heap keeps
 * what the burst's allocations under MALLOC_MMAP_THRESHOLD_ left free below a live one: 7, 21 and 38
 * MiB of `[heap]` 60 s after the snappy burst in three runs of 2026-12-03 19:33 (session 5), while
 * V8 gave back ~20 MiB; RSS then 88, 88 and 105 MiB against baselines of 91, 94 and 95 (the baseline
 * fell from 104-108 MiB in session 4, idle and per-request work cut, so 10% of it left ~9 MiB).
 */
const SETTLE_SLACK = 16 * MiB;

/** Resident set (VmRSS) and its high-water mark (VmHWM) of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/**
 * What a process' RSS is made of (/proc/PID/smaps_rollup: anonymous memory (V8 heap, buffers,
 * WebAssembly memory, malloc arenas) vs file pages (the node binary's code) and its V8 heap and
 * external memory (anomstream's /metrics), for the diagnostics of a leftover after a burst.
 */
async function breakdown(pid: number, url: string): Promise<string> {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string): string => `${k} ${(Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? NaN) / 1024).toFixed(1)}`;
  const m = await metricsOf(url, /^(nodejs_heap_used_bytes|nodejs_external_memory_bytes|anomstream_memory_bytes) /);
  // Resident anonymous memory by mapping: glibc's main arena ([heap]), its thread arenas (mappings
  // starting on a 64 MiB boundary: glibc reserves each arena as 64 MiB aligned to its size), and the
  // rest (V8's heap pages, ArrayBuffers, WebAssembly memory, mmap'd mallocs).
  const rss = { heap: 0, arenas: 0, other: 0 };
  let kind: keyof typeof rss | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const anonymous = head[4] === '0' && head[5] === '';
      kind = head[5] === '[heap]' ? 'heap' : !anonymous ? null : parseInt(head[1], 16) % (64 * MiB) === 0 && head[3] === 'rw-p' ? 'arenas' : 'other';
    } else if (kind && line.startsWith('Rss:')) rss[kind] += Number(/(\d+)/.exec(line)![1]) / 1024;
  }
  const maps = Object.entries(rss).map(([k, v]) => `${k} ${v.toFixed(1)}`);
  return `MiB: ${['Rss', 'Anonymous', 'Pss_File'].map(kb).join(', ')} (anonymous: ${maps.join(', ')}), ${[...m].map(([k, v]) => `${k} ${(v / MiB).toFixed(1)}`).join(', ')}`;
}

function probe(name: string, i: number): InputSeries {
  return { labels: { __name__: name, job: 'memory', i: String(i) }, timestamps: [Date.now() - 60_000], values: [i] };
}

/**
 * The malloc environment anomstream is deployed with (deploy/systemd/anomstream.service's
 * Environment=, the Dockerfile's ENV): the test runs the process as deployed.
 */
function deployedMallocEnv(): NodeJS.ProcessEnv {
  const unit = readFileSync(join(REPO_ROOT, 'deploy/systemd/anomstream.service'), 'utf8');
  const env: NodeJS.ProcessEnv = {};
  for (const line of unit.split('\n')) if (line.startsWith('Environment=')) for (const kv of line.slice(12).split(' ')) if (kv.startsWith('MALLOC_')) env[kv.split('=')[0]] = kv.split('=')[1];
  const docker = readFileSync(join(REPO_ROOT, 'deploy/Dockerfile'), 'utf8');
  for (const [k, v] of Object.entries(env)) assert.ok(docker.includes(`${k}=${v}`), `the Dockerfile sets ${k}=${v} as the systemd unit does`);
  assert.ok(Object.keys(env).length >= 2, 'the systemd unit sets the MALLOC_ thresholds');
  return env;
}

/** The headers vmagent 1.116+ sends a zstd block with. */
const ZSTD_HEADERS = { 'Content-Type': 'application/x-protobuf', 'Content-Encoding': 'zstd', 'X-VictoriaMetrics-Remote-Write-Version': '1' };
const ZSTD_BIN = process.env.ZSTD_BIN ?? '/usr/bin/zstd';

/** As vmagent compresses (level 3, Frame_Content_Size written), by the `zstd` CLI. */
function zstdCompress(raw: Uint8Array): Uint8Array {
  const r = spawnSync(ZSTD_BIN, ['-q', '-c', '-3', '--no-check', `--stream-size=${raw.length}`], { input: raw, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, `zstd: ${r.stderr}`);
  return r.stdout;
}

/** 32 MiB of empty TimeSeries (field 1, length 0): what the issue measured at 541 MB of RSS for one. */
const emptySeries = (): Uint8Array => new Uint8Array(32 * MiB).fill(0x0a).map((b, i) => (i & 1 ? 0 : b));

async function metricsOf(url: string, prefix: RegExp): Promise<Map<string, number>> {
  const text = (await request(`${url}/metrics`)).body.toString();
  return new Map(
    text
      .split('\n')
      .filter((l) => prefix.test(l))
      .map((l) => [l.slice(0, l.lastIndexOf(' ')), Number(l.slice(l.lastIndexOf(' ') + 1))]),
  );
}

interface Burst {
  /** One bomb's body and headers. */
  bomb: Uint8Array;
  headers: Record<string, string>;
  /** A normal request's body (its WriteRequest encoded), for the baseline traffic and the probe after the burst. */
  encode: (raw: Uint8Array) => Uint8Array;
  /** Checks right after the burst (what the process holds then), and 60 s later. */
  held?: (url: string) => Promise<void>;
  released?: (url: string) => Promise<void>;
}

/**
 * 64 bombs at once against anomstream's process (run with the malloc environment of deploy/),
 * after a baseline of normal traffic: it stays up, every bomb gets 400 or 503 (or 408), its peak
 * RSS stays under BUDGET + 200 MB, a normal write still works, its RSS is back within 10% of the
 * baseline 60 s later.
 */
async function bombBurst(t: TestContext, b: Burst): Promise<void> {
  t.diagnostic(`bomb: ${(b.bomb.length / MiB).toFixed(2)} MiB compressed, 32 MiB decoded`);
  await withDownstream(
    t,
    () => CaptureServer.start(204),
    (port, datasourceUrl) => configYaml({ port, datasourceUrl, server: `max_memory_bytes: ${BUDGET}` }),
    async (sink, anom) => {
      const pid = anom.proc.child.pid!;
      const write = (raw: Uint8Array) => anom.write(b.encode(raw), b.headers);
      const sendBombs = (n: number) =>
        Promise.all(
          Array.from({ length: n }, () =>
            request(`${anom.url}/api/v1/write`, { method: 'POST', body: b.bomb, headers: b.headers, timeoutMs: 120_000 }).then(
              (r) => r.status,
              (e: Error) => `error: ${e.message}`,
            ),
          ),
        );
      // The baseline: the process after normal traffic, before any bomb: 100 writes of 2,000 series
      // (vmagent's blocks hold up to 10,000 samples), so its heap, pools and code are those of a
      // proxy at work, not of one that has served 20 one-series writes. Then two bombs, so that the
      // code of the bomb path (a few MB of the node binary) is paged in before the peak is measured too.
      const t0 = Date.now() - 120_000;
      const block: InputSeries[] = Array.from({ length: 2000 }, (_, i) => ({ labels: { __name__: 'test_cpu', job: 'node', i: String(i) }, timestamps: [t0], values: [i % 7] })); // scored (configYaml's query)
      for (let i = 0; i < 100; i++) {
        for (const s of block) s.timestamps[0] += 1000;
        assert.equal((await write(encodeWriteRequest(block))).status, 204);
      }
      await sleep(7000); // past the 5 s after which idle request buffers are trimmed
      const baseline = memoryOf(pid).rss;
      t.diagnostic(`baseline: ${await breakdown(pid, anom.url)}`);
      await sendBombs(2);
      const statuses = await sendBombs(64);
      const peak = memoryOf(pid).hwm;
      await b.held?.(anom.url);
      const counts = new Map<string | number, number>();
      for (const s of statuses) counts.set(s, (counts.get(s) ?? 0) + 1);
      t.diagnostic(`bombs answered: ${[...counts].map(([s, n]) => `${n} x ${s}`).join(', ')}; RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB`);
      assert.ok(anom.proc.running, `anomstream is still running\n${anom.proc.tail()}`);
      // 408 too: a bomb whose body could not be read within server.read_timeout while the others
      // were decoded is cut like any slow request (retryable).
      assert.ok(
        statuses.every((s) => s === 400 || s === 503 || s === 408),
        `every bomb gets 400, 503 (or 408): ${[...counts].map(([s, n]) => `${n} x ${s}`).join(', ')}`,
      );
      assert.ok(peak <= BUDGET + 200 * MiB, `peak RSS ${(peak / MiB).toFixed(0)} MiB <= max_memory_bytes + 200 MB (${(BUDGET / MiB + 200).toFixed(0)} MiB)`);
      assert.equal(sink.requests.filter((q) => q.method === 'POST' && q.body.length === b.bomb.length).length, 0, 'no bomb was forwarded');
      assert.equal((await write(encodeWriteRequest([probe('memory_after', 0)]))).status, 204, 'a normal write still works');
      await sleep(Number(process.env.BOMB_WAIT_MS ?? 60_000));
      const after = memoryOf(pid).rss;
      t.diagnostic(`60 s later: ${await breakdown(pid, anom.url)}`);
      t.diagnostic(`RSS 60 s later: ${(after / MiB).toFixed(0)} MiB (baseline ${(baseline / MiB).toFixed(0)} MiB)`);
      // Near = within 10% or SETTLE_SLACK, whichever is more: what glibc keeps of its main heap after
      // the burst varies run to run (see SETTLE_SLACK); a pool that kept the bombs' buffers would be
      // 64 x 32 MiB over it.
      const limit = Math.max(baseline * 1.1, baseline + SETTLE_SLACK);
      assert.ok(after <= limit, `RSS 60 s later ${(after / MiB).toFixed(0)} MiB within ${(limit / MiB - baseline / MiB).toFixed(0)} MiB of the baseline ${(baseline / MiB).toFixed(0)} MiB`);
      await b.released?.(anom.url);
    },
    { ...process.env, ...deployedMallocEnv() },
  );
}

test('64 concurrent snappy bombs: the process stays up, peak RSS <= max_memory_bytes + 200 MB, back near the baseline 60 s later', { timeout: 240_000 }, async (t) => {
  await bombBurst(t, { bomb: snappyCompress(emptySeries()), headers: REMOTE_WRITE_HEADERS, encode: snappyCompress });
});

test(
  '64 concurrent zstd bombs (frames announcing 32 MiB): the shared decoder is counted in server.max_memory_bytes while it holds a bomb, replaced by a fresh one after the burst; RSS back near the baseline 60 s later',
  { timeout: 240_000 },
  async (t) => {
    if (!requireBinaries(t, ZSTD_BIN)) return;
    const decoder = 'anomstream_memory_decoder_bytes{encoding="zstd"}';
    await bombBurst(t, {
      bomb: zstdCompress(emptySeries()),
      headers: ZSTD_HEADERS,
      encode: zstdCompress,
      async held(url) {
        const m = await metricsOf(url, /^anomstream_memory/);
        t.diagnostic(`right after the burst: ${[...m].map(([k, v]) => `${k} ${v}`).join('; ')}`);
        assert.ok(m.get(decoder)! >= 32 * MiB, `the decoder holds a bomb's output and it is counted: ${m.get(decoder)}`);
        assert.ok(m.get('anomstream_memory_bytes')! >= m.get(decoder)!, 'part of anomstream_memory_bytes');
      },
      async released(url) {
        const m = await metricsOf(url, /^anomstream_memory_decoder/);
        assert.ok(m.get(decoder)! <= 17 * MiB, `the grown decoder was replaced by a fresh one (16 MiB): ${m.get(decoder)}`);
      },
    });
  },
);

test('per-request limits answer 400 naming the setting; a request that does not fit in server.max_memory_bytes gets 503; nothing of either is forwarded', { timeout: 60_000 }, async () => {
  const sink = await CaptureServer.start(204);
  const cfg = parseConfig(
    parseYaml(
      `server: { listen: "127.0.0.1:0", max_memory_bytes: ${6 * MiB} }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${sink.url}" }\nlimits: { max_series_per_request: 10, max_samples_per_request: 50 }\nstate: { path: '' }\n`,
    ),
  );
  const app = await startApp(cfg, pino({ level: 'silent' }));
  const url = `http://127.0.0.1:${app.receiver.address().port}/api/v1/write`;
  const post = (body: Uint8Array) => request(url, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
  try {
    const series = (n: number, samples = 1): InputSeries[] =>
      Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'up', i: String(i) }, timestamps: Array.from({ length: samples }, (_, k) => Date.now() - 60_000 + k), values: Array(samples).fill(1) }));
    assert.equal((await post(buildWriteRequest(series(10, 5)))).status, 204, '10 series, 50 samples: at the limits');
    const tooMany = await post(buildWriteRequest(series(11)));
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.toString(), /limits\.max_series_per_request/);
    const tooLong = await post(buildWriteRequest(series(2, 26)));
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.toString(), /limits\.max_samples_per_request/);
    // 7 MiB of one label value: the body fits (it compresses well) but its 7 MiB decoded do not fit
    // in the 6 MiB budget.
    const big = buildWriteRequest([{ labels: { __name__: 'up', big: 'x'.repeat(7 * MiB) }, timestamps: [Date.now()], values: [1] }]);
    const refused = await post(big);
    assert.equal(refused.status, 503, refused.body.toString());
    assert.match(refused.body.toString(), /server\.max_memory_bytes/);
    assert.equal(sink.requests.filter((q) => q.method === 'POST').length, 1, 'only the request within the limits was forwarded');
    assert.equal((await post(buildWriteRequest(series(3)))).status, 204, 'the next request is fine');
  } finally {
    await app.close(1000);
    await sink.close();
  }
});
