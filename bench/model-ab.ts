/**
 * The model alone, this checkout against another build in one process: bench/model-loop.ts' loop for
 * each (bench/model-block.ts), run in alternating blocks of rounds over the same series, CPU ns per
 * update summed per build. Separate model-loop processes differ by 10-30% on this shared 2-core
 * machine; blocks that alternate every few milliseconds share its load. The build loaded second runs
 * a few per cent faster (as in ab-hot), so each process pair loads them in both orders and the headline
 * is the geometric mean of this/DIST over all processes.
 *
 *   node dist/bench/model-ab.js --build DIST [--model auto] [--series 10000] [--step 10000] [--warm 100]
 *        [--blocks 40] [--per 10] [--processes 3]
 *
 * DIST: the other checkout's dist/ directory (as model-loop's --build). The defaults are model-loop's
 * young series (first day, 10 s steps); `--step 3600000 --warm 300` gives settled ones. Also checks
 * that both builds' score sums are equal.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Block } from './model-block.js';

interface Opts {
  build: string;
  model: string;
  series: number;
  step: number;
  warm: number;
  blocks: number;
  per: number;
}

/** One process (this checkout loaded first or second): prints {ta, tb, sumsEqual} for this checkout (a) and DIST (b). */
async function worker(o: Opts, thisFirst: boolean): Promise<void> {
  const load = async (tag: string, build: string): Promise<Block> => ((await import(`./model-block.js?${tag}`)) as typeof import('./model-block.js')).block(build, o.model, o.series, o.step);
  let a: Block;
  let b: Block;
  if (thisFirst) {
    a = await load('a', '');
    b = await load('b', o.build);
  } else {
    b = await load('b', o.build);
    a = await load('a', '');
  }
  a.run(o.warm);
  b.run(o.warm);
  let ta = 0;
  let tb = 0;
  for (let i = 0; i < o.blocks; i++) {
    // alternate which goes first within the pair too
    if (i % 2 === 0) {
      ta += a.run(o.per);
      tb += b.run(o.per);
    } else {
      tb += b.run(o.per);
      ta += a.run(o.per);
    }
  }
  console.log(JSON.stringify({ ta: ta / o.blocks, tb: tb / o.blocks, sumsEqual: a.sum() === b.sum() }));
}

function main(argv: string[]): void {
  const opt = (name: string, def: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : def;
  };
  const o: Opts = {
    build: opt('build', ''),
    model: opt('model', 'auto'),
    series: Number(opt('series', '10000')),
    step: Number(opt('step', '10000')),
    warm: Number(opt('warm', '100')),
    blocks: Number(opt('blocks', '40')),
    per: Number(opt('per', '10')),
  };
  if (o.build === '') throw new Error('--build DIST is required');
  if (argv.includes('--worker')) return void worker(o, argv.includes('--this-first'));
  const processes = Number(opt('processes', '3'));
  const ratios: number[] = [];
  console.log('| process | loaded first | this ns/update | other ns/update | this / other |');
  console.log('| --- | --- | --- | --- | --- |');
  for (let p = 0; p < processes; p++) {
    for (const thisFirst of [true, false]) {
      const args = [fileURLToPath(import.meta.url), '--worker', ...argv, ...(thisFirst ? ['--this-first'] : [])];
      const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`worker: ${r.stderr}`);
      const out = JSON.parse(r.stdout) as { ta: number; tb: number; sumsEqual: boolean };
      if (!out.sumsEqual) throw new Error('the two builds give different score sums');
      ratios.push(out.ta / out.tb);
      console.log(`| ${p + 1} | ${thisFirst ? 'this' : 'other'} | ${out.ta.toFixed(1)} | ${out.tb.toFixed(1)} | ${(out.ta / out.tb).toFixed(3)} |`);
    }
  }
  const geo = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
  console.log(`\nmodel ${o.model}: this / other = ${geo.toFixed(3)} (geometric mean over ${ratios.length} processes, both load orders; score sums equal)`);
}

main(process.argv.slice(2));
