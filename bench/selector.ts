/**
 * Selector regexes on hostile and ordinary label values: the numbers behind src/scoring/selector.ts'
 * RE2 engine (re2js) and issue 17's acceptance line "`{__name__=~".*_(.*)_total"}` against a 32 KB
 * metric name costs < 10 ms" (results in bench/RESULTS.md).
 *
 *   node dist/bench/selector.js [--rounds 7]
 *
 * Each case is one call of the selector's matcher (what scoring runs once per new series), timed in
 * wall-clock time after a warm-up, median of `--rounds` rounds; JavaScript's own RegExp (what the
 * selectors used before) is timed beside it on the same input, once per round (it takes ~1 s on the
 * hostile names).
 */
import { matches, parseSelector } from '../src/scoring/selector.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] || 7) || 7;
const KB32 = 32 * 1024;

const cases: [string, string, string][] = [
  ['.*_(.*)_total', 'a x 32 KB (no _)', 'a'.repeat(KB32)],
  ['.*_(.*)_total', '_ x 32 KB', '_'.repeat(KB32)],
  ['.*_(.*)_total', 'x_ + a x 32 KB + _total (match)', `x_${'a'.repeat(KB32 - 8)}_total`],
  ['.*_(.*)_total', 'node_network_receive_bytes_total', 'node_network_receive_bytes_total'],
  ['node_.*', 'node_cpu_seconds_total', 'node_cpu_seconds_total'],
  // Exponential for a backtracking engine: JavaScript's RegExp is not run on it (it would not end).
  ['(a|aa)*b', 'a x 32 KB', 'a'.repeat(KB32)],
];
const BACKTRACKING_FOREVER = '(a|aa)*b';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(f: () => boolean, n: number): number {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f();
  return Number(process.hrtime.bigint() - t) / 1e6 / n;
}

console.log(`| regex | label value | RE2 (re2js) ms per match | JavaScript RegExp ms | match |`);
console.log(`| --- | --- | --- | --- | --- |`);
for (const [re, what, value] of cases) {
  const sel = parseSelector(`{__name__=~"${re}"}`);
  const labels = new Map([['__name__', value]]);
  const js = new RegExp(`^(?:${re})$`, 's');
  const n = value.length > 1000 ? 5 : 20_000;
  for (let i = 0; i < 3; i++) time(() => matches(sel, labels), n); // warm-up (JIT)
  const re2 = median(Array.from({ length: rounds }, () => time(() => matches(sel, labels), n)));
  const jsMs = re === BACKTRACKING_FOREVER ? NaN : median(Array.from({ length: Math.min(rounds, 3) }, () => time(() => js.test(value), value.length > 1000 ? 1 : n)));
  const fmt = (ms: number): string => (ms !== ms ? 'not run (exponential)' : ms < 0.01 ? `${(ms * 1e6).toFixed(0)} ns` : `${ms.toFixed(3)}`);
  console.log(`| \`${re}\` | ${what} | ${fmt(re2)} | ${fmt(jsMs)} | ${matches(sel, labels)} |`);
}
