import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseDurationMs } from '../../src/config/duration.js';
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
    assert.equal(asWritten(v, want), want, `README default of ${key}`);
    checked++;
  }
  assert.ok(checked >= 5, `only ${checked} README rows matched schema keys`);
});

/** A schema value as the README writes it: durations back to their unit, arrays in brackets. */
function asWritten(v: unknown, want: string): string {
  const ms = parseDurationMs(want);
  if (typeof v === 'number' && ms !== null) return v === ms ? want : `${v} ms`;
  if (Array.isArray(v)) return `[${v.map((x) => (x === Infinity ? 'inf' : x === -Infinity ? '-inf' : String(x))).join(', ')}]`;
  return String(v);
}

test("the README's model argument tables state the schema's defaults", async () => {
  const { modelEntry } = await import('../../src/config/models.js');
  let checked = 0;
  // | `class` | `argument` | `default` | meaning |
  for (const m of readme.matchAll(/^\| `([a-z_]+)` \| `([a-z_]+)` \| `([^`]*)` \|/gm)) {
    const [, cls, arg, want] = m;
    const parsed = modelEntry.parse({ class: cls }) as Record<string, unknown>;
    assert.ok(arg in parsed, `README documents ${cls}.${arg}, which the schema does not have`);
    assert.equal(asWritten(parsed[arg], want), want, `README default of models.<alias>.${arg} for class ${cls}`);
    checked++;
  }
  // | `argument` | `default` | meaning |  (arguments of every class, checked on `auto`)
  const common = readme.slice(readme.indexOf('### Arguments of every class'), readme.indexOf('### Arguments per class'));
  const auto = modelEntry.parse({}) as Record<string, unknown>;
  for (const m of common.matchAll(/^\| `([a-z_]+)` \| `([^`]*)` \|/gm)) {
    const [, arg, want] = m;
    const v = arg in auto && auto[arg] !== undefined ? auto[arg] : undefined;
    if (v === undefined) continue; // optional keys with documented fallbacks (data_range, provide_series, ...)
    assert.equal(asWritten(v, want), want, `README default of models.<alias>.${arg}`);
    checked++;
  }
  assert.ok(checked >= 25, `only ${checked} model rows checked`);
});
