// src/wire/zstd.ts against bodies made by the `zstd` command-line tool (Debian package zstd; under
// CI=true a missing tool fails the test), corrupt bodies, mutated bodies and decompression bombs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { buildPool, materialize } from '../../bench/load/pool.js';
import { SnappyReader as Snappy } from '../../src/wire/snappy.js';
import { WriteBatch, WriteRequestDecoder } from '../../src/ingest/write-request.js';
import { DecodeError } from '../../src/errors.js';
import { isZstd, Zstd, ZstdReader, zstdContentSize } from '../../src/wire/zstd.js';
import { MemoryBudget } from '../../src/ingest/budget.js';
import { SNAPPY, zstdEncoding } from '../../src/ingest/encodings.js';
import { SharedDecoders } from '../../src/ingest/ingest.js';
import { Registry } from '../../src/metrics/registry.js';

const ZSTD_BIN = process.env.ZSTD_BIN ?? '/usr/bin/zstd';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
const LIMIT = 32 * 1024 * 1024;

function haveCli(t: TestContext): boolean {
  if (existsSync(ZSTD_BIN)) return true;
  const msg = `missing ${ZSTD_BIN} (apt-get install -y zstd; or run .ci/run)`;
  if (IN_CI) throw new Error(`CI=true: ${msg}`);
  t.skip(msg);
  return false;
}

/**
 * `zstd ARGS` with `input` on stdin, its size given so that the frame carries Frame_Content_Size
 * as vmagent's do (or a file named in ARGS); its stdout.
 */
function cli(args: string[], input?: Uint8Array): Buffer {
  const size = input ? [`--stream-size=${input.length}`] : [];
  const r = spawnSync(ZSTD_BIN, ['-q', '-c', ...size, ...args], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** A vmagent-like WriteRequest (node_exporter series, one sample each), uncompressed. */
function writeRequest(series: number): Uint8Array {
  const pool = buildPool({ series, samplesPerSeries: 1, samplesPerRequest: series, intervalMs: 15_000, nowMs: Date.now() });
  return new Snappy().decompress(materialize(pool, 0), LIMIT).slice();
}

function decodeError(fn: () => unknown): DecodeError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
  assert.fail('expected a DecodeError');
}

test('decodes WriteRequests compressed by the zstd CLI at every setting vmagent or a person may use', (t) => {
  if (!haveCli(t)) return;
  const raw = writeRequest(2000);
  const z = new Zstd();
  const cases: Array<[string, Buffer]> = [
    // vmagent linux/amd64 (gozstd, level 0 = 3, no checksum) and other platforms (klauspost SpeedFastest ~ 1).
    ['-3 --no-check', cli(['-3', '--no-check'], raw)],
    ['-1 --no-check', cli(['-1', '--no-check'], raw)],
    ['--fast=5', cli(['--fast=5'], raw)],
    ['-12 --check', cli(['-12', '--check'], raw)],
    ['--long=27 -10', cli(['--long=27', '-10'], raw)],
  ];
  for (const [args, body] of cases) {
    assert.ok(isZstd(body), args);
    assert.ok(body[4] >> 6 !== 0 || (body[4] & 0x20) !== 0, `${args}: Frame_Content_Size present`);
    const out = z.decompress(body, LIMIT);
    assert.deepEqual(Buffer.from(out), Buffer.from(raw), args);
    // And it is the WriteRequest: 2000 series of one sample.
    const batch = new WriteBatch();
    new WriteRequestDecoder().decode(out, batch);
    assert.equal(batch.seriesCount, 2000, args);
  }
});

test('frames without a content size, several frames, skippable frames, empty input', (t) => {
  if (!haveCli(t)) return;
  const raw = writeRequest(500);
  const z = new Zstd();
  // Through a pipe the CLI does not know the size: no Frame_Content_Size.
  const dir = mkdtempSync(join(tmpdir(), 'anom-zstd-'));
  try {
    const noSize = spawnSync('sh', ['-c', `${ZSTD_BIN} -q -c -3 | cat`], { input: raw, maxBuffer: 1 << 28 }).stdout;
    assert.equal(noSize[4] >> 6, 0, 'frame header without Frame_Content_Size');
    assert.deepEqual(Buffer.from(z.decompress(noSize, LIMIT)), Buffer.from(raw));
    // Exactly at the limit passes; one byte less is too large (with and without the header field).
    const withSize = cli(['-3'], raw);
    assert.notEqual(withSize[4] >> 6, 0, 'Frame_Content_Size present');
    assert.equal(z.decompress(withSize, raw.length).length, raw.length);
    assert.equal(z.decompress(noSize, raw.length).length, raw.length);
    assert.equal(decodeError(() => z.decompress(withSize, raw.length - 1)).code, 'ANOM_DECODE_TOO_LARGE');
    assert.equal(decodeError(() => z.decompress(noSize, raw.length - 1)).code, 'ANOM_DECODE_TOO_LARGE');
    // Two frames back to back decode to the concatenation; a skippable frame in front is ignored.
    const a = raw.subarray(0, 1000);
    const b = raw.subarray(1000);
    const two = Buffer.concat([cli(['-3'], a), cli(['-3'], b)]);
    assert.deepEqual(Buffer.from(z.decompress(two, LIMIT)), Buffer.from(raw));
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    assert.ok(isZstd(skippable));
    assert.deepEqual(Buffer.from(z.decompress(Buffer.concat([skippable, withSize]), LIMIT)), Buffer.from(raw));
    // Empty input (zstd of nothing, and no bytes at all): an empty body, like VictoriaMetrics.
    assert.equal(z.decompress(cli([], new Uint8Array(0)), LIMIT).length, 0);
    assert.equal(z.decompress(new Uint8Array(0), LIMIT).length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the returned view is reused: valid until the next call, then holds the next body', (t) => {
  if (!haveCli(t)) return;
  const z = new Zstd();
  const small = writeRequest(100);
  const large = writeRequest(3000);
  const first = z.decompress(cli(['-3'], small), LIMIT);
  assert.deepEqual(Buffer.from(first), Buffer.from(small));
  const second = z.decompress(cli(['-3'], large), LIMIT);
  assert.deepEqual(Buffer.from(second), Buffer.from(large));
  assert.deepEqual(Buffer.from(z.decompress(cli(['-3'], small), LIMIT)), Buffer.from(small));
});

test('corrupt bodies: a DecodeError ANOM_DECODE_ZSTD with a reason, never another error', (t) => {
  if (!haveCli(t)) return;
  const raw = writeRequest(300);
  const body = cli(['-3', '--check'], raw);
  const z = new Zstd();
  const corrupt: Array<[string, Uint8Array]> = [
    ['a snappy body', materialize(buildPool({ series: 5, samplesPerSeries: 1, samplesPerRequest: 5, intervalMs: 1, nowMs: Date.now() }), 0)],
    ['text', Buffer.from('this is not zstd at all')],
    ['magic only', body.subarray(0, 4)],
    ['truncated header', body.subarray(0, 7)],
    ['truncated block', body.subarray(0, body.length >> 1)],
    ['missing checksum', body.subarray(0, body.length - 4)],
    ['trailing garbage', Buffer.concat([body, Buffer.from([1, 2, 3, 4, 5, 6])])],
    ['wrong checksum', Buffer.concat([body.subarray(0, body.length - 4), Buffer.from([0, 0, 0, 0])])],
    ['reserved header bit', Buffer.concat([body.subarray(0, 4), Buffer.from([body[4] | 0x08]), body.subarray(5)])],
  ];
  for (const [name, bytes] of corrupt) {
    const e = decodeError(() => z.decompress(bytes, LIMIT));
    assert.equal(e.code, 'ANOM_DECODE_ZSTD', name);
    assert.match(e.message, /^zstd: /, name);
  }
  // The decoder is still fine afterwards.
  assert.deepEqual(Buffer.from(z.decompress(body, LIMIT)), Buffer.from(raw));
});

test('3,000 mutated frames: each decodes or throws a DecodeError; none crashes, hangs or grows memory', (t) => {
  if (!haveCli(t)) return;
  const raw = writeRequest(200);
  const seeds = [cli(['-3', '--no-check'], raw), cli(['-1', '--check'], raw), cli(['-19'], raw), spawnSync('sh', ['-c', `${ZSTD_BIN} -q -c -3 | cat`], { input: raw }).stdout];
  const z = new Zstd();
  let rng = 12345;
  const next = (n: number): number => {
    rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
    return (rng >>> 8) % n;
  };
  const outcomes = { decoded: 0, unknownSize: 0, ANOM_DECODE_ZSTD: 0, ANOM_DECODE_TOO_LARGE: 0 };
  z.decompress(cli(['-3'], new Uint8Array(16)), LIMIT); // the instance is made on first use
  const memBefore = z.memoryBytes;
  for (let i = 0; i < 3000; i++) {
    const m = Buffer.from(seeds[i % seeds.length]);
    const kind = next(4);
    if (kind === 0) for (let k = 1 + next(4); k > 0; k--) m[next(m.length)] ^= 1 << next(8);
    else if (kind === 1)
      m[4 + next(Math.min(16, m.length - 4))] = next(256); // frame and first block header
    else if (kind === 2) for (let k = 1 + next(8); k > 0; k--) m[next(m.length)] = next(256);
    const bytes = kind === 3 ? m.subarray(0, next(m.length)) : m;
    const announced = zstdContentSize(bytes);
    try {
      const out = z.decompress(bytes, 1 << 20);
      outcomes.decoded++;
      // What the headers announce without decompressing is what came out (or unknown).
      assert.ok(announced === out.length || announced === -1, `mutation ${i}: announced ${announced}, decoded ${out.length}`);
      if (announced === -1) outcomes.unknownSize++;
    } catch (e) {
      assert.ok(e instanceof DecodeError, `mutation ${i}: ${String(e)}`);
      assert.ok(e.code === 'ANOM_DECODE_ZSTD' || e.code === 'ANOM_DECODE_TOO_LARGE', e.code);
      outcomes[e.code]++;
    }
  }
  t.diagnostic(JSON.stringify(outcomes));
  assert.ok(outcomes.ANOM_DECODE_ZSTD > 1000, 'most mutations are detected');
  assert.ok(z.memoryBytes <= memBefore + 4 * 1024 * 1024, `memory ${z.memoryBytes} after, ${memBefore} before`);
  assert.deepEqual(Buffer.from(z.decompress(seeds[0], LIMIT)), Buffer.from(raw));
});

test('a 1 GiB zstd bomb is refused by size: by its header, or at the limit when it has none', (t) => {
  if (!haveCli(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'anom-zstd-'));
  try {
    // 1 GiB of zeros (a sparse file: no disk), compressed by the CLI to ~36 KB.
    const zeros = join(dir, 'zeros');
    writeFileSync(zeros, '');
    truncateSync(zeros, 1 << 30);
    const withSize = cli(['-1', zeros]);
    assert.ok(withSize.length < 64 * 1024, `${withSize.length} bytes`);
    const noSize = withoutContentSize(withSize);
    assert.equal(zstdContentSize(withSize), 1 << 30, 'announced before decompressing');
    assert.equal(zstdContentSize(noSize), -1);
    const z = new Zstd();
    z.decompress(cli(['-3'], new Uint8Array(16)), LIMIT); // the instance is made on first use
    const before = z.memoryBytes;
    const e1 = decodeError(() => z.decompress(withSize, LIMIT));
    assert.equal(e1.code, 'ANOM_DECODE_TOO_LARGE');
    assert.match(e1.message, /1073741824/);
    assert.equal(z.memoryBytes, before, 'refused from the header: no memory grown');
    const e2 = decodeError(() => z.decompress(noSize, LIMIT));
    assert.equal(e2.code, 'ANOM_DECODE_TOO_LARGE');
    // Without a size in the header the output grows up to the limit and no further.
    assert.ok(z.memoryBytes < before + 2 * LIMIT, `memory ${z.memoryBytes}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The same frame without its Frame_Content_Size field (what the CLI writes for a pipe, without
 * compressing 1 GiB a second time): clear the field's flag and drop its 4 bytes.
 */
function withoutContentSize(frame: Buffer): Buffer {
  const fhd = frame[4];
  assert.equal(fhd >> 6, 2, '4-byte Frame_Content_Size');
  assert.equal(fhd & 0x23, 0, 'window descriptor present, no dictionary id');
  return Buffer.concat([frame.subarray(0, 4), Buffer.from([fhd & 0x3f, frame[5]]), frame.subarray(10)]);
}

test('isZstd tells zstd and skippable frames from snappy bodies', () => {
  assert.equal(isZstd(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), true);
  assert.equal(isZstd(Buffer.from([0x5f, 0x2a, 0x4d, 0x18])), true);
  assert.equal(isZstd(Buffer.from([0x28, 0xb5, 0x2f])), false);
  assert.equal(isZstd(materialize(buildPool({ series: 5, samplesPerSeries: 1, samplesPerRequest: 5, intervalMs: 1, nowMs: Date.now() }), 0)), false);
});

test('zstdContentSize: the decoded size from the frame headers, before decompressing; -1 when a frame has none', (t) => {
  if (!haveCli(t)) return;
  const raw = writeRequest(700);
  for (const args of [['-3', '--no-check'], ['-1', '--check'], ['-19'], ['--fast=5']]) assert.equal(zstdContentSize(cli(args, raw)), raw.length, args.join(' '));
  // Single-segment frames of every Frame_Content_Size width: 1 byte (< 256), 2 bytes (+256), 4 bytes.
  for (const n of [0, 1, 200, 255, 256, 300, 65_791, 65_792, 1_000_000]) {
    const data = Buffer.alloc(n, 7);
    assert.equal(zstdContentSize(cli(['-3'], data)), n, `${n} bytes`);
  }
  const a = raw.subarray(0, 1234);
  const b = raw.subarray(1234);
  const skippable = Buffer.from([0x5e, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
  assert.equal(zstdContentSize(Buffer.concat([cli(['-3'], a), skippable, cli(['-3', '--check'], b)])), raw.length, 'frames and a skippable frame');
  const noSize = spawnSync('sh', ['-c', `${ZSTD_BIN} -q -c -3 | cat`], { input: raw, maxBuffer: 1 << 28 }).stdout;
  assert.equal(zstdContentSize(noSize), -1, 'a frame without content size');
  assert.equal(zstdContentSize(Buffer.concat([cli(['-3'], a), noSize])), -1, 'one frame of two without');
  const whole = cli(['-3'], raw);
  assert.equal(zstdContentSize(whole.subarray(0, whole.length - 1)), -1, 'truncated');
  assert.equal(zstdContentSize(Buffer.concat([whole, Buffer.from([1])])), -1, 'trailing byte');
  assert.equal(zstdContentSize(new Uint8Array(0)), 0);
  assert.equal(zstdContentSize(Buffer.from('not zstd at all')), -1);
});

test('ZstdReader: readers sharing one Zstd each keep their own output until their next call', (t) => {
  if (!haveCli(t)) return;
  const shared = new Zstd();
  const r1 = new ZstdReader(shared);
  const r2 = new ZstdReader(shared);
  const small = writeRequest(100);
  const large = writeRequest(3000);
  const out1 = r1.decompress(cli(['-3'], small), LIMIT);
  const out2 = r2.decompress(cli(['-3'], large), LIMIT); // grows the shared WebAssembly memory
  assert.deepEqual(Buffer.from(out1), Buffer.from(small));
  assert.deepEqual(Buffer.from(out2), Buffer.from(large));
  assert.deepEqual(Buffer.from(r1.decompress(cli(['-3'], large), LIMIT)), Buffer.from(large));
  assert.equal(decodeError(() => r2.decompress(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0]), LIMIT)).code, 'ANOM_DECODE_ZSTD');
  assert.deepEqual(Buffer.from(out2), Buffer.from(large), 'a failed call leaves the last output alone');
});

test('Zstd.trim replaces an instance grown by a large body by a fresh one; memoryAfter bounds the growth of a call beforehand', (t) => {
  if (!haveCli(t)) return;
  const z = new Zstd();
  assert.equal(z.memoryBytes, 0, 'no instance before the first call');
  const small = writeRequest(100);
  assert.deepEqual(Buffer.from(z.decompress(cli(['-3'], small), LIMIT)), Buffer.from(small));
  const fresh = z.memoryBytes;
  assert.ok(fresh > 0);
  assert.equal(z.trim(), 0, 'an instance that did not grow is kept');
  assert.equal(z.memoryBytes, fresh);
  // A bomb: 32 MiB of empty TimeSeries (zeros compress to ~1 KB), with its content size, and the
  // same without it (decoded into a buffer that grows up to the limit).
  const bombRaw = new Uint8Array(LIMIT).map((_, i) => (i & 1 ? 0 : 0x0a));
  const bomb = cli(['-3'], bombRaw);
  const noSize = spawnSync('sh', ['-c', `${ZSTD_BIN} -q -c -3 | cat`], { input: bombRaw, maxBuffer: 1 << 28 }).stdout;
  for (const [name, body, announced] of [
    ['with content size', bomb, LIMIT],
    ['without content size', noSize, LIMIT],
  ] as const) {
    const bound: number = z.memoryAfter(body.length, announced);
    assert.ok(bound >= fresh + LIMIT, `${name}: the bound counts the output`);
    assert.equal(z.decompress(body, LIMIT).length, LIMIT, name);
    const grown: number = z.memoryBytes;
    assert.ok(grown > fresh + LIMIT / 2 && grown <= bound, `${name}: grown to ${grown} <= memoryAfter ${bound}`);
    assert.ok(z.memoryAfter(body.length, announced) <= grown + (1 << 20) + 65536, `${name}: nothing more to grow for the same body again`);
    assert.equal(z.trim(), grown - fresh, `${name}: trim() replaces the grown instance by a fresh one`);
    assert.equal(z.memoryBytes, fresh, `${name}: the new instance is a fresh one`);
    assert.ok(z.memoryAfter(small.length, small.length) <= fresh + (2 << 20), 'a fresh instance bounds a small body');
    assert.deepEqual(Buffer.from(z.decompress(cli(['-3'], small), LIMIT)), Buffer.from(small), `${name}: the new instance decodes`);
    assert.equal(z.memoryBytes, fresh);
  }
});

test('SharedDecoders: the shared zstd decoder is taken from server.max_memory_bytes before it grows, settled to what it holds, and given back when replaced after POOL_IDLE_MS', (t) => {
  if (!haveCli(t)) return;
  const zstd = zstdEncoding();
  const bomb = cli(['-3'], new Uint8Array(LIMIT));
  const small = cli(['-3'], writeRequest(100));
  const tight = new MemoryBudget(8 << 20);
  const refused = new SharedDecoders(tight, [zstd], new Registry());
  assert.equal(refused.reserveFor(zstd, small, LIMIT), false, 'a fresh instance (16 MiB) does not fit in 8 MiB');
  assert.equal(tight.used, 0, 'nothing taken');

  const memory = new MemoryBudget(1 << 30);
  const registry = new Registry();
  const shared = new SharedDecoders(memory, [SNAPPY, zstd], registry);
  const gauge = (): number => Number(/^anomstream_memory_decoder_bytes\{encoding="zstd"\} (\d+)$/m.exec(registry.render())![1]);
  assert.equal(shared.reserveFor(SNAPPY, bomb, LIMIT), true, 'snappy shares nothing');
  assert.equal(memory.used, 0);
  assert.equal(shared.reserveFor(zstd, bomb, LIMIT), true);
  const taken = memory.used;
  assert.ok(taken >= LIMIT, `the output is taken before decompressing: ${taken}`);
  const reader = zstd.decompressor();
  reader.decompress(bomb, LIMIT);
  shared.settle(zstd);
  assert.equal(memory.used, zstd.shared!.memoryBytes, 'settled to what the decoder holds');
  assert.ok(memory.used <= taken, 'it held no more than was taken');
  assert.equal(gauge(), memory.used, 'anomstream_memory_decoder_bytes shows it');

  shared.shrink(Date.now() + 1000);
  assert.equal(memory.used, zstd.shared!.memoryBytes, 'used within POOL_IDLE_MS: kept');
  assert.ok(memory.used > LIMIT);
  const grown = memory.used;
  shared.shrink(Date.now() + 60_000);
  const fresh = zstd.shared!.memoryBytes;
  assert.ok(fresh > 0 && fresh < grown, `idle: the instance is replaced by a fresh one (${fresh} bytes)`);
  assert.equal(memory.used, fresh, 'and the bytes it grew by given back');
  assert.equal(gauge(), fresh);

  assert.equal(shared.reserveFor(zstd, small, LIMIT), true);
  assert.equal(reader.decompress(small, LIMIT).length, writeRequest(100).length, 'the fresh instance decodes');
  shared.settle(zstd);
  assert.equal(memory.used, zstd.shared!.memoryBytes);
  shared.shrink(Date.now() + 60_000);
  assert.equal(memory.used, zstd.shared!.memoryBytes, 'a fresh instance is kept');
});
