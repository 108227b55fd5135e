/**
 * zstd decoding and snappy re-encoding of remote write bodies: the numbers behind src/wire/zstd.ts'
 * choice of decoder and src/wire/snappy-compress.ts (results in bench/RESULTS.md).
 *
 *   node dist/bench/zstd.js [--libs DIR] [--series 60,600,6000,50000,250000] [--rounds 5] [--fuzz 3000]
 *
 * Bodies: the load generator's node_exporter-like WriteRequests (bench/load), one sample per series,
 * from ~7 KB to ~31 MiB decoded; compressed by the `zstd` CLI as vmagent compresses (linux/amd64
 * builds: gozstd level 0 = zstd level 3, no checksum; pure-Go builds: klauspost SpeedFastest ~ -1),
 * and by snappyjs (the reference algorithm, as Go's snappy.Encode) for the snappy rows.
 *
 * Rows are timed in rotation (every row once per round, `--rounds` rounds, 60-300 ms each) in CPU
 * time, and the median round is reported: a shared 2-core machine drifts, a rotation keeps
 * comparisons same-run. MB/s counts decoded bytes per CPU second; ns/sample = CPU time / samples.
 *
 * Other decoders are not dependencies: `--libs DIR` names a folder whose node_modules holds any of
 * fzstd, zstd-napi, @mongodb-js/zstd (1.2.2: the last release with registry-prebuilt binaries),
 * @bokuweb/zstd-wasm; those found are measured too, and fuzzed (`--fuzz N` mutated frames each, in a
 * child process so that a crash or a hang is counted, not fatal).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import snappyjs from 'snappyjs';
import { buildPool, materialize } from './load/pool.js';
import { SnappyReader as Snappy } from '../src/wire/snappy.js';
import { DecodeError } from '../src/errors.js';
import { SnappyCompressor } from '../src/wire/snappy-compress.js';
import { Zstd, ZstdReader } from '../src/wire/zstd.js';

const args = process.argv.slice(2);
function opt(name: string, def: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const LIMIT = 1 << 30;
const ZSTD_BIN = process.env.ZSTD_BIN ?? 'zstd';

/** A decoder under test: decode(body) returns the decoded bytes (maybe a view), or a promise of them. */
type Decode = (body: Uint8Array, size: number) => Uint8Array | Promise<Uint8Array>;

interface Candidate {
  name: string;
  /** How it was loaded: 'ours' or the package@version. */
  from: string;
  make: () => Promise<Decode>;
}

/** Decoders of other packages found under --libs DIR (none are dependencies of anomstream). */
function candidates(dir: string | null): Candidate[] {
  const ours: Candidate = {
    name: 'wire/zstd (libzstd wasm, zstddec 0.3.4)',
    from: 'ours',
    make: async () =>
      (
        (z) => (b) =>
          z.decompress(b, LIMIT)
      )(new Zstd()),
  };
  if (!dir) return [ours];
  const req = createRequire(join(dir, 'package.json'));
  const version = (p: string): string | null => {
    try {
      return (JSON.parse(readFileSync(join(dir, 'node_modules', p, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return null;
    }
  };
  const out = [ours];
  const v = (p: string): string => `${p}@${version(p)}`;
  if (version('fzstd')) {
    out.push({
      name: 'fzstd (pure JS)',
      from: v('fzstd'),
      make: async () => {
        const { decompress } = req('fzstd') as { decompress(b: Uint8Array): Uint8Array };
        return (b) => decompress(b);
      },
    });
  }
  if (version('zstddec')) {
    out.push({
      name: 'zstddec decode() (its own API)',
      from: v('zstddec'),
      make: async () => {
        const { ZSTDDecoder } = (await import(req.resolve('zstddec'))) as { ZSTDDecoder: new () => { init(): Promise<void>; decode(b: Uint8Array, n: number): Uint8Array } };
        const d = new ZSTDDecoder();
        await d.init();
        return (b, size) => d.decode(b, size);
      },
    });
  }
  if (version('@bokuweb/zstd-wasm')) {
    out.push({
      name: '@bokuweb/zstd-wasm decompress()',
      from: v('@bokuweb/zstd-wasm'),
      make: async () => {
        const m = req('@bokuweb/zstd-wasm') as { init(): Promise<void>; decompress(b: Uint8Array): Uint8Array };
        await m.init();
        return (b) => m.decompress(b);
      },
    });
  }
  if (version('zstd-napi')) {
    out.push({
      name: 'zstd-napi DCtx (native, into a reused buffer)',
      from: v('zstd-napi'),
      make: async () => {
        const { DCtx, getFrameContentSize } = req('zstd-napi/binding') as {
          DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
          getFrameContentSize(b: Uint8Array): number | null;
        };
        const dctx = new DCtx();
        let buf = Buffer.alloc(0);
        return (b) => {
          // The size check a caller must add (like wire/zstd's): content size, else 64 MiB at most.
          const n = getFrameContentSize(b) ?? 64 << 20;
          if (n > 64 << 20) throw new Error(`frame content size ${n} too large`);
          if (buf.length < n) buf = Buffer.alloc(n);
          return buf.subarray(0, dctx.decompress(buf, b));
        };
      },
    });
  }
  if (version('@mongodb-js/zstd')) {
    out.push({
      name: '@mongodb-js/zstd (native, async)',
      from: v('@mongodb-js/zstd'),
      make: async () => (req('@mongodb-js/zstd') as { decompress(b: Uint8Array): Promise<Buffer> }).decompress,
    });
  }
  return out;
}

/** `zstd LEVEL` of `raw` through stdin, with its size given so the frame carries Frame_Content_Size (as vmagent's). */
function cli(level: string[], raw: Uint8Array): Uint8Array {
  const r = spawnSync(ZSTD_BIN, ['-q', '-c', `--stream-size=${raw.length}`, ...level], { input: raw, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd ${level.join(' ')}: ${r.error ?? r.stderr}`);
  return r.stdout;
}

function writeRequest(series: number): Uint8Array {
  const pool = buildPool({ series, samplesPerSeries: 1, samplesPerRequest: series, intervalMs: 15_000, nowMs: Date.now() });
  return new Snappy().decompress(materialize(pool, 0), LIMIT).slice();
}

interface Row {
  name: string;
  run: () => unknown;
  bytes: number;
  ms: number[];
}

/**
 * Runs `row` for ~`budgetMs` of wall time; returns process CPU ms (user + system) per call. CPU
 * time, not wall time: on a shared machine a preempted run would otherwise count the other
 * processes' time. Async decoders are awaited one call at a time (their thread-pool CPU counts).
 */
async function timeRow(row: Row, budgetMs: number): Promise<number> {
  let calls = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  do {
    const r = row.run();
    if (r instanceof Promise) await r;
    calls++;
  } while (performance.now() - t0 < budgetMs);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000 / calls;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

async function speed(list: Candidate[], seriesList: number[], rounds: number): Promise<void> {
  const decoders = await Promise.all(list.map(async (c) => ({ c, decode: await c.make() })));
  const snappy = new Snappy();
  const compressor = new SnappyCompressor();
  const ourZstd = new Zstd();
  for (const series of seriesList) {
    const raw = writeRequest(series);
    const z3 = cli(['-3', '--no-check'], raw);
    const z1 = cli(['-1', '--no-check'], raw);
    const sn = snappyjs.compress(raw);
    const ourSn = compressor.compress(raw);
    console.log(
      `\n## ${series} series x 1 sample: WriteRequest ${raw.length} B; zstd -3 ${z3.length} B (x${(raw.length / z3.length).toFixed(1)}), zstd -1 ${z1.length} B (x${(raw.length / z1.length).toFixed(1)}), snappyjs ${sn.length} B (x${(raw.length / sn.length).toFixed(1)}), wire/snappy-compress ${ourSn.length} B`,
    );
    const rows: Row[] = [{ name: 'decode: snappy (src/wire/snappy.ts) of the snappyjs body', run: () => snappy.decompress(sn, LIMIT), bytes: raw.length, ms: [] }];
    for (const { c, decode } of decoders) {
      for (const [lvl, body] of [
        ['-3', z3],
        ['-1', z1],
      ] as const) {
        const check = await decode(body, raw.length);
        if (!same(check, raw)) throw new Error(`${c.name} decoded zstd ${lvl} wrongly`);
        rows.push({ name: `decode: zstd ${lvl}: ${c.name}`, run: () => decode(body, raw.length), bytes: raw.length, ms: [] });
      }
    }
    // What ingest runs per request slot: the shared instance, then a copy into the slot's own buffer.
    const reader = new ZstdReader(new Zstd());
    rows.push({ name: 'decode: zstd -3: wire/zstd ZstdReader (shared instance + copy, as ingest)', run: () => reader.decompress(z3, LIMIT), bytes: raw.length, ms: [] });
    rows.push(
      { name: 'compress: snappyjs.compress', run: () => snappyjs.compress(raw), bytes: raw.length, ms: [] },
      { name: 'compress: wire/snappy-compress compressView', run: () => compressor.compressView(raw), bytes: raw.length, ms: [] },
      { name: 'compress: wire/snappy-compress compress (copy)', run: () => compressor.compress(raw), bytes: raw.length, ms: [] },
      { name: 're-encode zstd -3 -> snappy (wire/zstd + compress)', run: () => compressor.compress(ourZstd.decompress(z3, LIMIT)), bytes: raw.length, ms: [] },
    );
    const budget = Math.max(60, Math.min(300, raw.length / 2e5));
    for (const row of rows) await timeRow(row, 30); // warm-up (JIT), not recorded
    for (let r = 0; r < rounds; r++) for (const row of rows) row.ms.push(await timeRow(row, budget));
    console.log('| operation | MB/s (decoded bytes per CPU s) | ns/sample | CPU ms/body | min-max MB/s over rounds |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const row of rows) {
      const ms = median(row.ms);
      const lo = row.bytes / Math.max(...row.ms) / 1e3;
      const hi = row.bytes / Math.min(...row.ms) / 1e3;
      console.log(`| ${row.name} | ${(row.bytes / ms / 1e3).toFixed(0)} | ${((ms * 1e6) / series).toFixed(0)} | ${ms.toFixed(3)} | ${lo.toFixed(0)}-${hi.toFixed(0)} |`);
    }
  }
}

/** Child process: `--fuzz-child INDEX N` decodes N mutated frames with candidate INDEX, prints outcome counts. */
async function fuzzChild(list: Candidate[], index: number, n: number): Promise<void> {
  const c = list[index];
  const decode = await c.make();
  const raw = writeRequest(200);
  const seeds = [cli(['-3', '--no-check'], raw), cli(['-1', '--check'], raw), cli(['-19'], raw)];
  let rng = 987654321;
  const next = (k: number): number => {
    rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
    return (rng >>> 8) % k;
  };
  const out = { original: 0, otherBytes: 0, cleanError: 0, otherException: 0 };
  const samples: string[] = [];
  for (let i = 0; i < n; i++) {
    const m = Buffer.from(seeds[i % seeds.length]);
    const kind = next(4);
    if (kind === 0) for (let k = 1 + next(4); k > 0; k--) m[next(m.length)] ^= 1 << next(8);
    else if (kind === 1) m[4 + next(16)] = next(256);
    else if (kind === 2) for (let k = 1 + next(8); k > 0; k--) m[next(m.length)] = next(256);
    const bytes = kind === 3 ? m.subarray(0, next(m.length)) : m;
    process.stdout.write(`progress ${i}\n`);
    try {
      const r = await decode(bytes, raw.length);
      if (same(r, raw)) out.original++;
      else out.otherBytes++;
    } catch (e) {
      // A clean error: ours is a DecodeError; a library's own Error (not a TypeError/RangeError of
      // its JavaScript tripping over the input).
      const err = e as Error;
      if (e instanceof DecodeError || (err.constructor === Error && c.from !== 'ours')) out.cleanError++;
      else {
        out.otherException++;
        if (samples.length < 3) samples.push(`${err.name}: ${err.message.slice(0, 80)}`);
      }
    }
  }
  process.stdout.write(`result ${JSON.stringify({ ...out, samples })}\n`);
}

async function fuzz(list: Candidate[], n: number): Promise<void> {
  console.log(`\n## Robustness: ${n} mutated frames per decoder (bit flips, header bytes, random bytes, truncation of a 200-series body)`);
  console.log('| decoder | decoded: the original | decoded: other bytes (silent) | clean error | other exception | hang (60 s) / crash |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  const self = fileURLToPath(import.meta.url);
  for (const [i, c] of list.entries()) {
    const r = spawnSync(process.execPath, [self, ...args, '--fuzz-child', String(i), String(n)], { encoding: 'utf8', timeout: 60_000, maxBuffer: 1 << 26 });
    const lines = r.stdout.trim().split('\n');
    const last = lines[lines.length - 1] ?? '';
    if (last.startsWith('result ')) {
      const o = JSON.parse(last.slice(7)) as { original: number; otherBytes: number; cleanError: number; otherException: number; samples: string[] };
      console.log(`| ${c.name} (${c.from}) | ${o.original} | ${o.otherBytes} | ${o.cleanError} | ${o.otherException}${o.samples.length ? ` (${o.samples.join('; ')})` : ''} | none |`);
    } else {
      const at = lines.filter((l) => l.startsWith('progress ')).length;
      const how = r.error
        ? `hang: no answer after mutation ${at - 1} (killed at 60 s)`
        : `crash: exit ${r.status} ${r.signal ?? ''} at mutation ${at - 1}: ${(r.stderr ?? '').split('\n').find((l) => l.trim()) ?? ''}`;
      console.log(`| ${c.name} (${c.from}) | | | | | ${how} |`);
    }
  }
}

const libs = args.includes('--libs') ? opt('libs', '') : null;
const list = candidates(libs);
const child = args.indexOf('--fuzz-child');
if (child >= 0) {
  await fuzzChild(list, Number(args[child + 1]), Number(args[child + 2]));
} else {
  console.log(`# bench/zstd: node ${process.version}, ${new Date().toISOString()}; decoders: ${list.map((c) => `${c.name} [${c.from}]`).join(', ')}`);
  await speed(list, opt('series', '60,600,6000,50000,250000').split(',').map(Number), Number(opt('rounds', '5')));
  const n = Number(opt('fuzz', '3000'));
  if (n > 0) await fuzz(list, n);
}
