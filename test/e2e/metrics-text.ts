/** anomstream's /metrics text read by the tests (their own reader, independent of src/metrics). */

/** name{labels} -> value, from the text format (a test's own reader, independent of src/metrics). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** Sum of every sample of `name` whose labels include all of `labels` (name="value" pieces). */
export function sumOf(m: Map<string, number>, name: string, ...labels: string[]): number {
  let sum = 0;
  for (const [k, v] of m) {
    const brace = k.indexOf('{');
    if ((brace < 0 ? k : k.slice(0, brace)) !== name) continue;
    if (labels.every((l) => k.includes(l))) sum += v;
  }
  return sum;
}
