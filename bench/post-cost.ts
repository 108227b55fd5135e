// CPU of anomstream's HTTP out per POST: Downstream.post (undici, the path of raw forwards and
// generated blocks) of snappy bodies of a given size to the counting sink (bench/sink.ts, `raw` mode,
// another process on CPU 1), the poster on CPU 0. Measures this process' CPU (user + system: undici,
// the socket writes, the answers parsed) per POST and per MB, with 4 POSTs in flight as the proxy has.
// What one POST costs beside its bytes is what writing the generated series of several requests in
// one block saves (src/emit/emitter.ts).
//
//   node dist/bench/post-cost.js [--sizes 40000,300000,900000] [--posts 600] [--rounds 5]
//
// Bodies are generated series as the encoder writes them (bench/load's pool through the proxy's
// scoring unit is not needed: the sink in `raw` mode reads only the first series of a generated block).
// Sizes alternate within every round; median of the rounds.

import { REMOTE_WRITE_HEADERS } from '../src/forward/downstream.js';
import { SnappyCompressor } from '../src/wire/snappy-compress.js';
import { encodeWriteRequest } from '../test/e2e/harness.js';
import { pinnedSink, stop } from './procs.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}

/** A snappy WriteRequest of about `bytes` compressed bytes of generated-looking series. */
function body(bytes: number): Uint8Array {
  const c = new SnappyCompressor();
  let n = Math.max(1, Math.round(bytes / 40));
  for (;;) {
    const series = Array.from({ length: n }, (_, i) => ({
      labels: { __name__: 'anomaly_score', for: 'bench', instance: `host-${i % 997}:9100`, cpu: String(i % 16), mode: `m${i}` },
      timestamps: [1_700_000_000_000 + i],
      values: [Math.random()],
    }));
    const b = c.compress(encodeWriteRequest(series)).slice();
    if (b.length >= bytes * 0.95) return b;
    n = Math.ceil((n * bytes) / b.length);
  }
}

async function main(): Promise<void> {
  const sizes = arg('--sizes', '40000,300000,900000').split(',').map(Number);
  const posts = Number(arg('--posts', '600'));
  const rounds = Number(arg('--rounds', '5'));
  const { sink, down } = await pinnedSink();
  const bodies = sizes.map(body);
  const perPost = sizes.map(() => [] as number[]);
  const run = async (b: Uint8Array): Promise<number> => {
    let next = 0;
    const c0 = process.cpuUsage();
    const worker = async (): Promise<void> => {
      while (next++ < posts) {
        const r = await down.post('/api/v1/write', b, REMOTE_WRITE_HEADERS);
        if (r.outcome !== 'accepted') throw new Error(r.reason);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / posts;
  };
  for (const b of bodies) await run(b); // warm
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < sizes.length; j++) {
      const i = (j + r) % sizes.length; // a different size first in every round
      perPost[i].push(await run(bodies[i]));
    }
  }
  await down.close();
  await stop(sink);
  console.log('| body bytes (snappy) | CPU µs per POST, median (min-max) | CPU µs per MB |');
  console.log('| --- | --- | --- |');
  sizes.forEach((s, i) => {
    const v = perPost[i].sort((x, y) => x - y);
    const med = v[Math.floor(v.length / 2)];
    console.log(`| ${bodies[i].length} | ${med.toFixed(0)} (${v[0].toFixed(0)}-${v[v.length - 1].toFixed(0)}) | ${((med * 1e6) / bodies[i].length).toFixed(0)} |`);
  });
}

await main();
