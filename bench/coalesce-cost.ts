// CPU of the raw forward's HTTP out per request, one POST per request (main) against the
// coalescer (src/ingest/coalesce.ts) with `limit` POSTs in flight: `--senders` closed-loop senders
// (as vmagent's 4 connections) each forward a load-generator request (2,000 series x 1 sample,
// prometheus shape, ~20 KB snappy) and send the next once it is answered, to the counting sink
// (bench/sink.ts, `raw` mode, another process on CPU 1); the forwarder on CPU 0. Measures this
// process' CPU (user + system) per request and the POSTs per request. Modes alternate within
// every round; median of the rounds. No decode, no scoring: the HTTP-out stage alone.
//
//   node dist/bench/coalesce-cost.js [--requests 3000] [--rounds 5] [--senders 4] [--limits 1,2,4]

import { REMOTE_WRITE_HEADERS } from '../src/forward/downstream.js';
import { MemoryBudget } from '../src/ingest/budget.js';
import { RawCoalescer } from '../src/ingest/coalesce.js';
import { buildPool, materialize } from './load/pool.js';
import { pinnedSink, stop } from './procs.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}

async function main(): Promise<void> {
  const requests = Number(arg('--requests', '3000'));
  const rounds = Number(arg('--rounds', '5'));
  const senders = Number(arg('--senders', '4'));
  const limits = arg('--limits', '1,2,4').split(',').map(Number);
  const { sink, down } = await pinnedSink();
  const pool = buildPool({ series: 10_000, samplesPerSeries: 1_000, samplesPerRequest: 2_000, intervalMs: 15_000, nowMs: Date.now() });
  const bodies = Array.from({ length: 64 }, (_, i) => materialize(pool, i));
  let posts = 0;
  const send = (p: string, b: Uint8Array) => {
    posts++;
    return down.post(p, b, REMOTE_WRITE_HEADERS);
  };
  const modes: { name: string; post: (b: Uint8Array) => Promise<{ outcome: string; reason: string }> }[] = [{ name: 'one POST per request (main)', post: (b) => send('/api/v1/write', b) }];
  for (const k of limits) {
    const c = new RawCoalescer(send, { memory: new MemoryBudget(1 << 30), maxBytes: () => 32 << 20 }, { merged: { inc() {} }, split: { inc() {} } }, k);
    modes.push({ name: `coalesced, ${k} in flight`, post: (b) => c.post('/api/v1/write', b) });
  }
  const run = async (m: (typeof modes)[number]): Promise<{ us: number; postsPerRequest: number }> => {
    let next = 0;
    posts = 0;
    const c0 = process.cpuUsage();
    const sender = async (): Promise<void> => {
      for (let i = next++; i < requests; i = next++) {
        const r = await m.post(bodies[i % bodies.length]);
        if (r.outcome !== 'accepted') throw new Error(r.reason);
      }
    };
    await Promise.all(Array.from({ length: senders }, sender));
    const c = process.cpuUsage(c0);
    return { us: (c.user + c.system) / requests, postsPerRequest: posts / requests };
  };
  for (const m of modes) await run(m); // warm
  const us = modes.map(() => [] as number[]);
  const ppr = modes.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) {
    for (let j = 0; j < modes.length; j++) {
      const i = (j + r) % modes.length;
      const x = await run(modes[i]);
      us[i].push(x.us);
      ppr[i].push(x.postsPerRequest);
    }
  }
  await down.close();
  await stop(sink);
  /** Median; sorts `v` in place (pass a copy to keep the rounds' order). */
  const med = (v: number[]): number => v.sort((x, y) => x - y)[Math.floor(v.length / 2)];
  console.log(`${requests} requests of ${bodies[0].length} B (snappy), ${senders} senders, ${rounds} rounds`);
  console.log('| mode | CPU µs per request, median (min-max) | POSTs per request, median | CPU per request / main, per round |');
  console.log('| --- | --- | --- | --- |');
  modes.forEach((m, i) => {
    const v = us[i].slice().sort((x, y) => x - y);
    const ratios = i === 0 ? '' : ` | ${us[i].map((x, r) => (x / us[0][r]).toFixed(2)).join(', ')}`;
    console.log(`| ${m.name} | ${med(us[i].slice()).toFixed(1)} (${v[0].toFixed(1)}-${v[v.length - 1].toFixed(1)}) | ${med(ppr[i]).toFixed(2)}${ratios} |`);
  });
}

await main();
