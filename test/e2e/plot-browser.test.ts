/**
 * The replay picture in a real browser: headless Chromium (Debian package `chromium`) loads the
 * SVG that `replay --plot` wrote as a standalone document. An XML error would make Chromium show
 * its `parsererror` page instead of the picture; the DOM it builds must hold every mark and path
 * of the file. Under CI=true a missing chromium fails the test.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHROMIUM_BIN as CHROMIUM, chromiumArgs } from './browser.js';
import { CLI } from './harness.js';

test('replay --plot: the SVG is a document headless Chromium renders', (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI=true: missing ${CHROMIUM} (apt-get install -y chromium; or run .ci/run)`);
    t.skip(`missing ${CHROMIUM} (apt-get install -y chromium)`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'plot-browser-'));
  try {
    const rows = ['timestamp,value'];
    for (let i = 0; i < 3000; i++) rows.push(`${1441108800 + i * 300},${(50 + 20 * Math.sin(i / 45.8) + (i % 7) - (i === 2000 ? 400 : 0)).toFixed(2)}`);
    const input = join(dir, 'in & <"x">.csv'); // the title is the file name: escaped in the SVG
    writeFileSync(input, rows.join('\n') + '\n');
    writeFileSync(join(dir, 'w.json'), JSON.stringify([[(1441108800 + 1990 * 300) * 1000, (1441108800 + 2010 * 300) * 1000]]));
    const svgPath = join(dir, 'out.svg');
    const r = spawnSync(process.execPath, [CLI, 'replay', '--input', input, '--plot', svgPath, '--labels', join(dir, 'w.json')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const svg = readFileSync(svgPath, 'utf8');

    const profile = mkdtempSync(join(tmpdir(), 'plot-chromium-'));
    const args = [...chromiumArgs(profile), '--dump-dom', 'file://' + encodeURI(svgPath).replace(/#/g, '%23')];
    const c = spawnSync(CHROMIUM, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 << 20 });
    rmSync(profile, { recursive: true, force: true });
    assert.equal(c.status, 0, c.stderr.slice(-2000));
    const dom = c.stdout;
    assert.ok(!dom.includes('parsererror'), dom.slice(0, 1000));
    assert.match(dom, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(dom.includes('<title>in &amp; &lt;"x"&gt;.csv</title>'), 'the title, escaped');
    const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;
    assert.ok(count(svg, /<circle class="mark" as:rows=/g) >= 2, 'the dip is marked in both panels');
    assert.equal(count(dom, /<circle class="mark"/g), count(svg, /<circle class="mark"/g));
    assert.equal(count(dom, /<path /g), count(svg, /<path /g));
    assert.equal(count(dom, /class="window"/g), 3); // two panels + the legend swatch
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
