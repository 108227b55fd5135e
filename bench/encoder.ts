/**
 * The generated-series encoder alone, as the proxy drives it: GeneratedBlock.rows (the default
 * instance, 4 outputs per sample) over bench/load's requests (10,000 series, 2,000 per request,
 * one sample per series), each request decoded right before it is encoded, as in the pipeline.
 * Per rep it times the rounds decoded only, then decoded and encoded, and prints the difference
 * in CPU ns (user + system) per raw sample: the encoder's cost. Scores are fixed pseudo-random
 * values (the encoder does not look at them). A/B: run it from two checkouts, alternating.
 *
 *   node dist/bench/encoder.js [--shape prometheus|vmagent] [--rounds 20] [--reps 3] [--order same|shuffle|blocksN]
 *
 * --order: the series of each request in another order every round after the first (the chunk memo
 * and its run copies rely on the order of last time): `shuffle` every series, `blocksN` blocks of N
 * series shuffled (scrape targets interleaving differently); default `same`.
 */
import { pino } from 'pino';
import { WriteBatch, WriteRequestDecoder } from '../src/ingest/write-request.js';
import { compileScoring } from '../src/scoring/instances.js';
import { SnappyReader } from '../src/wire/snappy.js';
import { GeneratedBlock } from '../src/emit/block.js';
import { TenancyCheck } from '../src/emit/tenancy.js';
import { writerSchema } from '../src/config/schema.js';
import { Registry } from '../src/metrics/registry.js';
import { OutputRows } from '../src/scoring/output.js';
import { buildPool, materialize } from './load/pool.js';
import { parseShape } from './load/labels.js';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i], process.argv[i + 1] ?? '');
for (const k of args.keys()) if (!['--shape', '--rounds', '--reps', '--order'].includes(k)) throw new Error(`unknown option '${k}'`);
const shape = parseShape(args.get('--shape') ?? 'prometheus');
const rounds = Number(args.get('--rounds') ?? 20);
const reps = Number(args.get('--reps') ?? 3);
const order = args.get('--order') ?? 'same';
const block = order === 'shuffle' ? 1 : order.startsWith('blocks') ? Number(order.slice(6)) : 0;
if (order !== 'same' && !(Number.isInteger(block) && block >= 1)) throw new Error(`--order: expected same, shuffle or blocksN, not '${order}'`);

const spec = compileScoring({ bench: { expr: '{__name__=~".+"}' } } as never, undefined);
const gen = new GeneratedBlock(writerSchema.parse({ datasource_url: 'http://127.0.0.1:1' }), spec.instances, new TenancyCheck(new Registry(), pino({ level: 'silent' })));
const pool = buildPool({ series: 10_000, samplesPerSeries: rounds, samplesPerRequest: 2000, intervalMs: 10_000, nowMs: 1_790_000_000_000, shape });
const sn = new SnappyReader();
const raws: Uint8Array[] = [];
for (let i = 0; i < pool.totalRequests; i++) raws.push(Uint8Array.from(sn.decompress(materialize(pool, i), 1 << 25)));
const dec = new WriteRequestDecoder();
const batch = new WriteBatch();
const out = new OutputRows();
out.reserve(2048);
for (let i = 0; i < 2048; i++) for (let c = 0; c < out.cols.length; c++) out.cols[c][i] = c === 0 ? (i % 97) / 50 : 100 + (i % 89);
const enc = gen.encoder;

let seed = 1;
/** Deterministic pseudo-random numbers in [0, 1). */
function rnd(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 4294967296;
}
/** Per request of every round: the order its series are encoded in (made up front, not timed). */
const orders: Int32Array[] = [];
for (let i = 0; i < pool.totalRequests; i++) {
  const o = Int32Array.from({ length: 2000 }, (_, s) => s);
  if (block > 0 && i >= pool.requestsPerRound) {
    // Fisher-Yates over blocks of `block` series (the last block may be shorter: it stays last).
    const blocks = Math.floor(o.length / block);
    const perm = Int32Array.from({ length: blocks }, (_, b) => b);
    for (let b = blocks - 1; b > 0; b--) {
      const j = Math.floor(rnd() * (b + 1));
      [perm[b], perm[j]] = [perm[j], perm[b]];
    }
    for (let b = 0; b < blocks; b++) for (let k = 0; k < block; k++) o[b * block + k] = perm[b] * block + k;
  }
  orders.push(o);
}

/** Round r: its requests decoded, and (when `encode`) every series' row encoded into one body. Returns the samples. */
function round(r: number, encode: boolean): number {
  enc.reset();
  let n = 0;
  for (let q = 0; q < pool.requestsPerRound; q++) {
    dec.decode(raws[r * pool.requestsPerRound + q], batch);
    n += batch.sampleCount;
    if (!encode) continue;
    gen.beginBatch();
    const ord = orders[r * pool.requestsPerRound + q];
    for (let i = 0; i < batch.seriesCount; i++) {
      const s = ord[i];
      const id = q * 2000 + s;
      if (r === 0) {
        batch.labels(s);
        const labels = new Map<string, string>();
        for (let j = batch.lblFirst[s]; j < batch.lblFirst[s] + batch.lblCount[s]; j++) labels.set(batch.labelName(j), batch.labelValue(j));
        gen.seriesAdded(batch, s, id, null, labels);
      }
      out.ts[s] = batch.ts[batch.smpFirst[s]];
      gen.rows(batch, s, id, true, 0, out, s, 1);
    }
  }
  enc.recycle(enc.body());
  return n;
}

function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

for (let r = 0; r < Math.min(5, rounds); r++) round(r, true); // ids, plans, JIT
const res: number[] = [];
for (let rep = 0; rep < reps; rep++) {
  let t0 = cpuNs();
  let n = 0;
  for (let r = 1; r < rounds; r++) n += round(r, false);
  const decodeOnly = (cpuNs() - t0) / n;
  t0 = cpuNs();
  n = 0;
  for (let r = 1; r < rounds; r++) n += round(r, true);
  res.push((cpuNs() - t0) / n - decodeOnly);
}
res.sort((a, b) => a - b);
console.log(`${shape}${order === 'same' ? '' : ` (${order})`}: encoder ${res[res.length >> 1].toFixed(1)} CPU ns per raw sample, median of ${reps} (min ${res[0].toFixed(1)})`);
