/**
 * Issue 19: the status page (GET /) in a real browser. anomstream runs in front of a real
 * VictoriaMetrics; a calm and a spiky series are written through it; headless Chromium, driven
 * over the DevTools protocol, loads the page: no console error, no exception, no failed load, and
 * its table of anomalous series holds the spiky series (labels escaped as written) and only it,
 * with a vmui link whose queries select exactly that series' generated series and its raw series.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Browser, CHROMIUM_BIN } from './browser.js';
import { Anomstream, VM_BIN, VictoriaMetrics, buildWriteRequest, configYaml, dumpProcesses, request, requireBinaries, seriesKey, waitFor, type InputSeries } from './harness.js';
import { seriesOf } from './peers.js';

const NAME = 'status_load';
/** Label values a page must escape (HTML) and a selector must quote. */
const SPIKY = { __name__: NAME, job: 'status', instance: 'spiky <&"x">' };
const CALM = { __name__: NAME, job: 'status', instance: 'calm' };
const POINTS = 120;

function series(labels: Record<string, string>, base: number, spikeAtEnd: boolean, t0: number): InputSeries {
  const timestamps = Array.from({ length: POINTS }, (_, i) => t0 + i * 1000);
  const values = timestamps.map((_, i) => base + ((i * 7) % 5) * 0.2 + (spikeAtEnd && i === POINTS - 1 ? 40 : 0));
  return { labels, timestamps, values };
}

interface Row {
  cells: string[];
  href: string | null;
}

test('GET /: the status page loads in headless Chromium without a console error and lists the anomalous series, linked to vmui', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, CHROMIUM_BIN)) return;
  let vm: VictoriaMetrics | undefined;
  let anom: Anomstream | undefined;
  let browser: Browser | undefined;
  try {
    vm = await VictoriaMetrics.start();
    const vmUrl = vm.url;
    const models = "  z: { class: zscore_online, min_n_samples_seen: 16, half_life: '2m' }";
    anom = await Anomstream.start((port) => configYaml({ port, datasourceUrl: vmUrl, queries: { load: `${NAME}{job="status"}`, other: 'nothing_matches_this' }, models }));
    const t0 = Math.floor(Date.now() / 1000) * 1000 - POINTS * 1000;
    const r = await anom.write(buildWriteRequest([series(SPIKY, 50, true, t0), series(CALM, 20, false, t0)]));
    assert.equal(r.status, 204, r.body.toString());
    const spikeTs = t0 + (POINTS - 1) * 1000;
    await waitFor('the spike scored in VictoriaMetrics', async () => {
      const got = await vm!.exportSeries(`anomaly_score{source_metric="${NAME}"}`);
      const spiky = got.find((s) => s.metric.instance === SPIKY.instance);
      return got.length === 2 && spiky?.timestamps.includes(spikeTs) ? true : undefined;
    });

    browser = await Browser.start();
    const page = await browser.open(`${anom.url}/`);
    assert.deepEqual(page.errors, [], 'no console error, exception or failed load');
    const title = await page.evaluate<string>('document.title');
    assert.match(title, /^anomstream \d+\.\d+\.\d+/);
    const instances = await page.evaluate<string[][]>(`[...document.querySelectorAll('#instances tbody tr')].map((tr) => [...tr.cells].map((c) => c.textContent))`);
    assert.deepEqual(
      instances.map((c) => [c[0], c[2], c[4]]),
      [
        ['load', 'z', '2'],
        ['other', 'z', '0'],
      ],
      'query, model, scored series',
    );
    const rows = await page.evaluate<Row[]>(`[...document.querySelectorAll('#anomalous tbody tr')].map((tr) => ({ cells: [...tr.cells].map((c) => c.textContent), href: tr.querySelector('a')?.href ?? null }))`);
    assert.equal(rows.length, 1, `one anomalous series: ${JSON.stringify(rows)}`);
    const [score, query, model, , labels] = rows[0].cells;
    assert.ok(Number(score) > 1, `score ${score}`);
    assert.equal(query, 'load');
    assert.equal(model, 'z');
    assert.equal(labels, `${NAME}{instance=${JSON.stringify(SPIKY.instance)}, job="status"}`, 'the labels, as written (the page escaped them)');

    // The link: vmui of the datasource, g0 = the series' generated series, g1 = its raw series.
    const link = new URL(rows[0].href!);
    assert.equal(`${link.origin}${link.pathname}`, `${vm.url}/vmui/`);
    const params = new URLSearchParams(link.hash.replace(/^#\/\?/, ''));
    const since = Math.floor(t0 / 1000);
    const { __name__: _name, ...inputLabels } = SPIKY;
    const generated = (await seriesOf(vm.url, params.get('g0.expr')!, since)).map(seriesKey).sort();
    const want = ['anomaly_score', 'yhat', 'yhat_lower', 'yhat_upper'].map((v) => seriesKey({ ...inputLabels, __name__: v, for: 'load', source_metric: NAME })).sort();
    assert.deepEqual(generated, want, `g0.expr ${params.get('g0.expr')}`);
    assert.deepEqual((await seriesOf(vm.url, params.get('g1.expr')!, since)).map(seriesKey), [seriesKey(SPIKY)], `g1.expr ${params.get('g1.expr')}`);

    // server.vmui_url (here set by a reload; the page is not fetched from it): the links use it as their base, with the same queries.
    const vmuiUrl = 'http://vmui.test:8481/select/0/vmui/';
    const config = (port: number): string => configYaml({ port, datasourceUrl: vmUrl, queries: { load: `${NAME}{job="status"}`, other: 'nothing_matches_this' }, models, server: `vmui_url: "${vmuiUrl}"` });
    writeFileSync(join(anom.dir, 'config.yaml'), config(anom.port));
    const reload = await request(`${anom.url}/-/reload`, { method: 'POST' });
    assert.equal(reload.status, 200, reload.body.toString());
    const again = await browser.open(`${anom.url}/`);
    assert.deepEqual(again.errors, [], 'no console error, exception or failed load');
    const hrefs = await again.evaluate<string[]>(`[...document.querySelectorAll('#anomalous tbody tr a')].map((a) => a.href)`);
    assert.equal(hrefs.length, 1);
    const configured = new URL(hrefs[0]);
    assert.equal(`${configured.origin}${configured.pathname}`, vmuiUrl);
    assert.deepEqual([...new URLSearchParams(configured.hash.replace(/^#\/\?/, ''))], [...params], 'the same vmui queries');
    assert.equal(await again.evaluate<string>(`document.querySelector('a[href="${vmuiUrl}"]')?.textContent ?? ''`), 'vmui', 'the page links vmui itself');
  } catch (e) {
    dumpProcesses(t, [anom?.proc, vm?.proc]);
    throw e;
  } finally {
    await browser?.close();
    await anom?.close();
    await vm?.close();
  }
});
