/**
 * Issue 18 acceptance: every YAML block of vmanomaly's documentation (test/fixtures/vmanomaly-reference,
 * see its README for the origin), extracted from the markdown at run time, through the built
 * CLI's --check-config. Each block loads, or exits 2 with lines that each name a config path (or
 * a file:line:column for YAML syntax) and say what to write instead, never a bare phrase of the
 * validation library. Blocks are checked as they are and "completed" (a minimal reader: or
 * writer: added when the block has none), since most documentation blocks are one section.
 * Then: specific blocks must load (the writer page's example, the 1.30 forms), others must give
 * specific lines (the guide's config).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { checkAll, judge, type Outcome } from './check-config.js';
import { REPO_ROOT, runCli, tempDir } from './harness.js';

const REF = join(REPO_ROOT, 'test', 'fixtures', 'vmanomaly-reference');
const dir = tempDir('vmref');
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface Block {
  /** e.g. `upstream/components-writer.md:278` */
  where: string;
  text: string;
  /** The same block with a minimal reader:/writer: added where it has none. */
  completed: string;
}

/** Fenced ```yaml / ```yml blocks, also inside lists (indented) and blockquotes (`> `). */
function yamlBlocks(md: string, where: string): Block[] {
  const lines = md.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*(?:>\s?)*)(`{3,}|~{3,})\s*ya?ml\b/i.exec(lines[i]);
    if (!open) continue;
    const [, prefix, fence] = open;
    const quoted = prefix.includes('>');
    const start = i + 1;
    const body: string[] = [];
    for (i++; i < lines.length; i++) {
      const l = quoted ? lines[i].replace(/^\s*(>\s?)+/, '') : lines[i].slice(Math.min(prefix.length, lines[i].length - lines[i].trimStart().length));
      if (l.trimStart().startsWith(fence)) break;
      body.push(l);
    }
    const text = body.join('\n') + '\n';
    // Documentation writes `...` for "more here" (YAML's end of document): the added sections go in the same document.
    let completed = text.replace(/^\.\.\.\s*$/gm, '');
    if (!/^reader:/m.test(text)) completed += "reader: { queries: { q: 'up' } }\n";
    if (!/^writer:/m.test(text)) completed += 'writer: { datasource_url: "http://127.0.0.1:8428" }\n';
    out.push({ where: `${where}:${start}`, text, completed });
  }
  return out;
}

function pages(sub: string): { where: string; md: string }[] {
  return readdirSync(join(REF, sub))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => ({ where: `${sub}/${f}`, md: readFileSync(join(REF, sub, f), 'utf8') }));
}

function writeBlocks(blocks: Block[], tag: string): { block: Block; plain: string; completed: string }[] {
  return blocks.map((b, i) => {
    const stem = join(dir, `${tag}-${i}-${basename(b.where).replace(/[^\w.-]/g, '_')}`);
    writeFileSync(`${stem}.yaml`, b.text);
    writeFileSync(`${stem}.completed.yaml`, b.completed);
    return { block: b, plain: `${stem}.yaml`, completed: `${stem}.completed.yaml` };
  });
}

test("the shared reference's YAML blocks, one --check-config each: load, or exit 2 with a path and what to write instead", async () => {
  const blocks = pages('shared').flatMap((p) => yamlBlocks(p.md, p.where));
  assert.ok(blocks.length >= 5, `only ${blocks.length} YAML blocks found`);
  const guide = blocks.find((b) => b.text.includes('model.prophet.ProphetModel'));
  assert.ok(guide, "the guide's vmanomaly config");
  for (const f of writeBlocks(blocks, 'shared')) {
    for (const file of [f.plain, f.completed]) {
      const r = await runCli(['--check-config', file]);
      assert.ok(r.code === 0 || r.code === 2, `${f.block.where}: exit ${r.code}\n${r.output}`);
      const lines = r.output.trim().split('\n');
      const o: Outcome = r.code === 0 ? { valid: true, lines: [] } : { valid: false, lines: lines.slice(1) };
      if (r.code === 2) assert.match(lines[0], /^anomstream: .+: \d+ problems?:$/);
      judge(`${f.block.where}${file === f.completed ? ' (completed)' : ''}`, o);
      if (f.block === guide) {
        // The guide's config: each vmanomaly-only part named, nothing else.
        assert.deepEqual(
          o.lines.map((l) => l.split(': ')[0]),
          ['model', 'scheduler', 'reader.datasource_url', 'reader.queries.node_cpu_rate.expr'],
          o.lines.join('\n'),
        );
      }
    }
  }
});

test("vmanomaly 1.30's documentation: every YAML block loads or is explained; its own forms load", () => {
  const blocks = pages('upstream').flatMap((p) => yamlBlocks(p.md, p.where));
  assert.ok(blocks.length >= 80, `only ${blocks.length} YAML blocks found`);
  const files = writeBlocks(blocks, 'up');
  const all = [...files.map((f) => f.plain), ...files.map((f) => f.completed)];
  const results = checkAll(all, { ...process.env, VMANOMALY_URL: undefined, DS_URL: undefined });
  for (const f of files) {
    judge(f.block.where, results.get(f.plain)!);
    judge(`${f.block.where} (completed)`, results.get(f.completed)!);
  }
  const completedOf = (marker: string): Outcome => {
    const f = files.find((x) => x.block.text.includes(marker));
    assert.ok(f, `no block with ${marker}`);
    return results.get(f.completed)!;
  };
  // Blocks that must load as vmanomaly means them.
  for (const marker of [
    'connection_retry_attempts: 2', // the writer page's example
    'min_dev_from_expected: [5.0, 5.0]', // two-sided, query level
    'min_rel_dev_from_expected: [10, 20]',
    'scale: [1.2, 0.75]', // two-sided scale
    'q1_clipped:', // data_range: [0, "inf"], clip_predictions: True
    'query_values_the_lower_the_better', // per-query detection_direction
    'model_default_score:', // anomaly_score_outside_data_range
  ]) {
    const o = completedOf(marker);
    assert.ok(o.valid, `the block with '${marker}' does not load:\n${o.lines.join('\n')}`);
  }
  // Blocks that cannot load, with the lines that explain why.
  const expect: [string, RegExp][] = [
    ["tuned_class_name: 'zscore_online'\n    optimization_params:\n      anomaly_percentage: 0.004", /^models\.your_desired_alias_for_a_model\.class: .*AutoTunedModel/m],
    ['decay: 0.996', /^models\.online_zscore\.decay: expected a half-life duration.*half_life = step/m],
    ['datasource_url: %{VMANOMALY_URL}', /^writer\.datasource_url: environment variable VMANOMALY_URL is not set/m],
    ["class: 'prophet'", /^models\.your_desired_alias_for_a_model\.class: 'prophet': Prophet.*use class: holtwinters_online/m],
    ["port: 8490\n  path_prefix: '/vmanomaly'", /^server\.port: .*write server\.listen: '0\.0\.0\.0:8490'/m],
  ];
  for (const [marker, re] of expect) {
    const o = completedOf(marker);
    assert.ok(!o.valid, marker);
    assert.match(o.lines.join('\n'), re, marker);
  }
});
