// Top self-time functions of a V8 .cpuprofile (as written by `node --cpu-prof`).
//
//   node dist/bench/cpuprof-top.js FILE.cpuprofile [--top 10]
//
// Also the busy time per pipeline stage (stages()): each sample goes to the stage of the innermost
// anomstream frame on its stack (node internals and undici below it count for that frame's stage: a
// `writev` under forward/ is HTTP out); samples with no anomstream frame are HTTP out when undici is on
// the stack, else node's event loop and HTTP server. V8 puts the time of inlined functions into their
// caller, so a hot loop's callees show up in the loop's stage (pipeline.js' `score` holds the series
// index lookup); `node --no-turbo-inlining` separates them at some cost to speed.
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
    const file = f.url
      .replace(/^.*\/dist\//, 'dist/')
      .replace(/^file:\/\//, '')
      .replace(/^node:.*/, 'node:*')
      .replace(/^.*\/node_modules\/([^/]+)\/.*/, 'node_modules/$1');
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

/** Stage of an anomstream source file (old layout and the ingest/scoring/emit/wire one). */
const STAGES: Array<[RegExp, string]> = [
  [/\/(decode|ingest|wire)\//, 'decode (snappy + WriteRequest)'],
  [/\/(series|scoring\/series)\//, 'series hash + index'],
  [/\/match\//, 'match (new series)'],
  [/\/models\//, 'model update + score'],
  [/\/(output|emit)\//, 'encode generated series'],
  [/\/forward\//, 'HTTP out (raw + generated POSTs)'],
  [/\/receive\//, 'HTTP in (server)'],
  [/\/pipeline\.js$|\/scoring\//, 'pipeline loop (+ what V8 inlined into it)'],
];

function stageOfUrl(url: string): string | null {
  if (!/\/dist\/src\//.test(url)) return null;
  for (const [re, stage] of STAGES) if (re.test(url)) return stage;
  return 'other anomstream code';
}

/** Busy time per stage (see the file comment), largest first, shares of busy time. */
export function stages(profile: { nodes: Array<Node & { children?: number[] }>; samples?: number[]; timeDeltas?: number[] }): Array<{ stage: string; ms: number; share: number }> {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map<number, Node>(profile.nodes.map((n) => [n.id, n]));
  const memo = new Map<number, string>();
  const stageOf = (id: number): string => {
    const hit = memo.get(id);
    if (hit !== undefined) return hit;
    const leaf = byId.get(id)!.callFrame.functionName;
    let stage: string;
    if (leaf === '(garbage collector)') stage = 'GC';
    else if (leaf === '(program)' || leaf === '(idle)') stage = leaf;
    else {
      let found: string | null = null;
      let undici = false;
      for (let at: number | undefined = id; at !== undefined && found === null; at = parent.get(at)) {
        const url = byId.get(at)!.callFrame.url;
        found = stageOfUrl(url);
        if (/node_modules\/undici\//.test(url)) undici = true;
      }
      stage = found ?? (undici ? 'HTTP out (raw + generated POSTs)' : 'node event loop + HTTP server (no anomstream frame)');
    }
    memo.set(id, stage);
    return stage;
  };
  const ms = new Map<string, number>();
  let total = 0;
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    if (!byId.has(samples[i])) continue;
    const d = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000;
    const st = stageOf(samples[i]);
    ms.set(st, (ms.get(st) ?? 0) + d);
    if (st !== '(idle)') total += d;
  }
  return [...ms.entries()]
    .filter(([st]) => st !== '(idle)')
    .sort((x, y) => y[1] - x[1])
    .map(([stage, v]) => ({ stage, ms: v, share: v / total }));
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
  console.log('\n| stage | ms | share of busy |');
  console.log('| --- | --- | --- |');
  for (const r of stages(p)) console.log(`| ${r.stage} | ${r.ms.toFixed(0)} | ${(r.share * 100).toFixed(1)}% |`);
}
