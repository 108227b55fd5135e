/**
 * Output check for encoder speed changes: the generated bodies GeneratedBlock writes over bench/load's
 * requests in orders that make the chunk memo hit, miss and break its runs, decompressed and hashed.
 * A pure speed change of the encoder must print the same hash as the tree before it.
 *
 *   node dist/bench/encoder-check.js [--dist DIR]
 *
 * --dist: the dist/ directory of another build (e.g. main's tree built with tsc in a temp dir) whose
 * src/ modules are used instead of this tree's; bench/load's requests are this tree's either way.
 * Per shape (prometheus, vmagent) x instances (1, 2): 6,000 series, 16 rounds; requests in reverse
 * order every 4th round; ~5% of neighbouring series swapped in every 5th round; ~3% of series left
 * out in every 6th; bodies cut at random places; ~2% NaN (stale) values; 4-digit timestamps for
 * every 50th series in round 7 and +1 ms for every 300th in round 9 (other varint lengths).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import snappy from 'snappyjs';
import { buildPool, materialize } from './load/pool.js';
import type { Shape } from './load/labels.js';

const args = process.argv.slice(2);
if (args.length > 0 && !(args.length === 2 && args[0] === '--dist')) throw new Error('usage: encoder-check.js [--dist DIR]');
const dist = args[1] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const load = async <T>(p: string): Promise<T> => (await import(pathToFileURL(path.resolve(dist, 'src', p)).href)) as T;
const { WriteBatch, WriteRequestDecoder } = await load<typeof import('../src/ingest/write-request.js')>('ingest/write-request.js');
const { compileScoring } = await load<typeof import('../src/scoring/instances.js')>('scoring/instances.js');
const { SnappyReader } = await load<typeof import('../src/wire/snappy.js')>('wire/snappy.js');
const { GeneratedBlock } = await load<typeof import('../src/emit/block.js')>('emit/block.js');
const { TenancyCheck } = await load<typeof import('../src/emit/tenancy.js')>('emit/tenancy.js');
const { writerSchema } = await load<typeof import('../src/config/schema.js')>('config/schema.js');
const { Registry } = await load<typeof import('../src/metrics/registry.js')>('metrics/registry.js');
const { OutputRows } = await load<typeof import('../src/scoring/output.js')>('scoring/output.js');

let seed = 12345;
/** Deterministic pseudo-random numbers in [0, 1). */
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}

const hash = createHash('sha256');
let bodies = 0;
let rawBytes = 0;
let memoChunks = 0;
for (const shape of ['prometheus', 'vmagent'] as Shape[]) {
  for (const instances of [1, 2]) {
    const queries: Record<string, { expr: string }> = {};
    for (let i = 0; i < instances; i++) queries[`q${i}`] = { expr: '{__name__=~".+"}' };
    const spec = compileScoring(queries as never, undefined);
    const block = new GeneratedBlock(writerSchema.parse({ datasource_url: 'http://127.0.0.1:1' }), spec.instances, new TenancyCheck(new Registry(), pino({ level: 'silent' })));
    const rounds = 16;
    const pool = buildPool({ series: 6000, samplesPerSeries: rounds, samplesPerRequest: 2000, intervalMs: 10_000, nowMs: 1_790_000_000_000, shape });
    const sn = new SnappyReader();
    const dec = new WriteRequestDecoder();
    const batch = new WriteBatch();
    const out = new OutputRows();
    out.reserve(2048);
    const enc = block.encoder;
    const seen = new Set<number>();
    const finish = (): void => {
      const b = enc.body();
      const d = snappy.uncompress(b);
      rawBytes += d.length;
      hash.update(d);
      bodies++;
      enc.recycle(b);
      enc.reset();
    };
    enc.reset();
    for (let r = 0; r < rounds; r++) {
      const order = [...Array(pool.requestsPerRound).keys()];
      if (r % 4 === 3) order.reverse();
      for (const q of order) {
        dec.decode(Uint8Array.from(sn.decompress(materialize(pool, r * pool.requestsPerRound + q), 1 << 25)), batch);
        block.beginBatch();
        const series = [...Array(batch.seriesCount).keys()];
        if (r % 5 === 4) {
          for (let i = 0; i + 1 < series.length; i++) {
            if (rnd() < 0.05) [series[i], series[i + 1]] = [series[i + 1], series[i]];
          }
        }
        for (const s of series) {
          if (r % 6 === 5 && rnd() < 0.03) continue;
          const id = q * 2000 + s;
          if (!seen.has(id)) {
            seen.add(id);
            batch.labels(s);
            const labels = new Map<string, string>();
            for (let j = batch.lblFirst[s]; j < batch.lblFirst[s] + batch.lblCount[s]; j++) labels.set(batch.labelName(j), batch.labelValue(j));
            block.seriesAdded(batch, s, id, null, labels);
          }
          for (const col of out.cols) {
            const x = rnd();
            col[s] = x < 0.02 ? NaN : x < 0.05 ? Math.round(x * 1000) : x < 0.07 ? -x * 1e300 : x * 100;
          }
          const t = batch.ts[batch.smpFirst[s]];
          out.ts[s] = r === 7 && s % 50 === 0 ? 1000 + s : r === 9 && s % 300 === 0 ? t + 1 : t;
          for (let i = 0; i < instances; i++) block.rows(batch, s, id, i === 0, i, out, s, 1);
          if (rnd() < 0.0005) finish();
        }
        if (rnd() < 0.4) finish();
      }
    }
    finish();
    memoChunks += enc.memoChunks;
  }
}
console.log(`bodies ${bodies}, ${rawBytes} bytes decompressed, ${memoChunks} chunks from the memo, sha256 ${hash.digest('hex')}`);
