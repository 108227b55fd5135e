// Shared by the raw forward's tests (raw-forward.test.ts) and the memory budget's (budget-pools.test.ts):
// the zstd CLI, node_exporter WriteRequests, and a datasource on 127.0.0.1 answering as told.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { buildPool, materialize } from '../../bench/load/pool.js';
import type { Registry } from '../../src/metrics/registry.js';
import { SnappyReader } from '../../src/wire/snappy.js';
import { isZstd } from '../../src/wire/zstd.js';

const ZSTD_BIN = process.env.ZSTD_BIN ?? '/usr/bin/zstd';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
export const LIMIT = 32 << 20;

export function haveCli(t: TestContext): boolean {
  if (existsSync(ZSTD_BIN)) return true;
  if (IN_CI) throw new Error(`CI=true: missing ${ZSTD_BIN}`);
  t.skip(`missing ${ZSTD_BIN}`);
  return false;
}

/** A WriteRequest of `series` node_exporter series (round `round`): snappy body and decoded bytes. */
export function request(series: number, round = 0): { snappy: Buffer; raw: Uint8Array } {
  const pool = buildPool({ series, samplesPerSeries: round + 1, samplesPerRequest: series, intervalMs: 15_000, nowMs: Date.now() });
  const snappy = materialize(pool, round);
  return { snappy, raw: new SnappyReader().decompress(snappy, LIMIT).slice() };
}

export function zstdCli(raw: Uint8Array): Buffer {
  const r = spawnSync(ZSTD_BIN, ['-q', '-c', '-3', '--no-check', `--stream-size=${raw.length}`], { input: raw, maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, String(r.stderr));
  return r.stdout;
}

export interface Got {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A datasource answering each POST with `answer(body, headers)` (a promise: answered when it settles); records what it got. */
export async function datasource(answer: (g: Got) => number | Promise<number>): Promise<{ url: URL; got: Got[]; close(): Promise<void> }> {
  const got: Got[] = [];
  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const g = { headers: req.headers, body: Buffer.concat(chunks) };
      got.push(g);
      void Promise.resolve(answer(g)).then((status) => res.writeHead(status).end(status >= 400 ? `answer ${status}\n` : undefined));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    got,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** VictoriaMetrics 1.79.5: every body is read as snappy, whatever its Content-Encoding. */
export const snappyOnly = (g: Got): number => (isZstd(g.body) ? 400 : 204);

export function metric(r: Registry, line: string): number {
  const m = new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(r.render());
  return m ? Number(m[1]) : NaN;
}
