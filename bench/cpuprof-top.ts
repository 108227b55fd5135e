// Top self-time functions of a V8 .cpuprofile (as written by `node --cpu-prof`).
//
//   node dist/bench/cpuprof-top.js FILE.cpuprofile [--top 10]
//
// Self time = samples whose leaf is the function, aggregated by name + file + line; shares are of the
// busy time (every sample except `(idle)`, which is reported apart); (garbage collector) and (program)
// count as busy. Also a summary by file (node: internals grouped as `node:*`).

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

export function topSelf(profile: { nodes: Node[]; samples?: number[]; timeDeltas?: number[] }, top: number, byFile = false): Array<{ name: string; where: string; ms: number; share: number }> {
  const byId = new Map<number, Node>(profile.nodes.map((n) => [n.id, n]));
  const ms = new Map<string, number>();
  let total = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const n = byId.get(samples[i]);
    if (!n) continue;
    const d = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    const f = n.callFrame;
    const file = f.url.replace(/^.*\/dist\//, 'dist/').replace(/^file:\/\//, '').replace(/^node:.*/, 'node:*').replace(/^.*\/node_modules\/([^/]+)\/.*/, 'node_modules/$1');
    const key = byFile ? `${f.url ? file : f.functionName}\t` : `${f.functionName || '(anonymous)'}\t${file}:${f.lineNumber + 1}`;
    ms.set(key, (ms.get(key) ?? 0) + d);
    if (f.functionName !== '(idle)') total += d;
  }
  return [...ms.entries()]
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)
    .map(([k, v]) => {
      const [name, where] = k.split('\t');
      return { name, where, ms: v, share: v / total };
    });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const file = process.argv[2];
  const top = process.argv[3] === '--top' ? Number(process.argv[4]) : 10;
  const p = JSON.parse(readFileSync(file, 'utf8'));
  console.log('| # | function | where | self ms | share |');
  console.log('| --- | --- | --- | --- | --- |');
  const all = topSelf(p, 1e9);
  const idle = all.find((r) => r.name === '(idle)');
  const busy = all.filter((r) => r.name !== '(idle)');
  busy.slice(0, top).forEach((r, i) => console.log(`| ${i + 1} | ${r.name} | ${r.where} | ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)}% |`));
  console.log(`\nbusy ${busy.reduce((x, r) => x + r.ms, 0).toFixed(0)} ms, idle ${idle ? idle.ms.toFixed(0) : 0} ms\n`);
  console.log('| file | self ms | share of busy |');
  console.log('| --- | --- | --- |');
  for (const r of topSelf(p, 15, true).filter((r) => r.name !== '(idle)')) console.log(`| ${r.name} | ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)}% |`);
}
