/**
 * Issue 3 acceptance: config errors exit 2 and name the config path; --check-config validates.
 */
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { configYaml, runCli, tempDir } from './harness.js';

const dir = tempDir('config');
test.after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const good = configYaml({ port: 18490, datasourceUrl: 'http://127.0.0.1:8428' });

test('--check-config on a valid config exits 0', async () => {
  const r = await runCli(['--check-config', file('good.yaml', good)]);
  assert.equal(r.code, 0, r.output);
});

const bad: [string, string, RegExp][] = [
  ['invalid URL', good.replace('http://127.0.0.1:8428', 'not a url'), /writer\.datasource_url/],
  ['unknown key', good.replace('server: {', 'server: { bogus_key: 1,'), /server.*bogus_key|bogus_key.*server/],
  ['bad selector', good.replace('test_cpu{job="node"}', 'test_cpu{job="node"'), /reader\.queries\.cpu/],
  ['missing writer', good.split('\n').filter((l) => !l.startsWith('writer:')).join('\n'), /writer/],
];

for (const [what, text, pathRe] of bad) {
  for (const flag of ['--config', '--check-config']) {
    test(`${what}: ${flag} exits 2 naming the path`, async () => {
      const r = await runCli([flag, file(`${what.replace(/\W/g, '_')}.yaml`, text)]);
      assert.equal(r.code, 2, `exit code for ${what} (${flag}); output:\n${r.output}`);
      assert.match(r.output, pathRe, `message names the path`);
    });
  }
}
