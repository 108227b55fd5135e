import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/** Rows `| \`a.b.c\` | \`default\` | ... |` of the README's reference tables. */
function rows(): [string, string][] {
  const out: [string, string][] = [];
  for (const line of readme.split('\n')) {
    const m = /^\| `([a-z_.<>]+)` \| `([^`]*)` \|/.exec(line);
    if (m) out.push([m[1], m[2]]);
  }
  return out;
}

function show(v: unknown): string {
  return Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
}

test("the README's configuration tables state the schema's defaults", () => {
  const cfg = parseConfig({
    reader: { queries: { q: 'up' } },
    writer: { datasource_url: 'http://127.0.0.1:8428' },
  }) as unknown as Record<string, unknown>;
  const parsedQuery = (cfg.reader as { queries: Record<string, unknown> }).queries.q;
  let checked = 0;
  for (const [key, want] of rows()) {
    const path = key.split('.');
    let v: unknown = cfg;
    for (const p of path) {
      if (p === '<alias>' && v === (cfg.reader as { queries: unknown }).queries) v = parsedQuery;
      else v = (v as Record<string, unknown> | undefined)?.[p];
    }
    if (v === undefined) continue; // documented elsewhere (models, optional writer keys)
    // Durations are stored in ms; the README states them as written in YAML.
    const got = typeof v === 'number' && /(timeout|half_life)$/.test(key) ? `${v / 1000}s` : show(v);
    assert.equal(got, want, `README default of ${key}`);
    checked++;
  }
  assert.ok(checked >= 5, `only ${checked} README rows matched schema keys`);
});
