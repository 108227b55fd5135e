/**
 * writer.tenant_id (or a tenant path) pointed at a single-node VictoriaMetrics, which has no
 * /insert/<tenant>/ paths and answers them 400 "unsupported path requested" (a vmanomaly writer
 * block pasted from a cluster setup, `tenant_id: "0:0"`, against :8428). That 400 is about the
 * URL, not the data: passed back as 400, vmagent and Prometheus dropped every raw sample. It is
 * now retryable (503, the sender keeps the data) with an error log naming writer.tenant_id and
 * writer.datasource_url, as a 404 is. A real VictoriaMetrics; in-process anomstream.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { REMOTE_WRITE_HEADERS, VM_BIN, VictoriaMetrics, encodeWriteRequest, request, requireBinaries, snappyCompress } from './harness.js';

test('writer.tenant_id against a single-node VictoriaMetrics: the sender gets 503 (keeps its data), the log names writer.tenant_id', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN)) return;
  const vm = await VictoriaMetrics.start();
  const lines: string[] = [];
  const cfg = `server: { listen: "127.0.0.1:0" }\nreader: { queries: { q: 'up' } }\nwriter: { datasource_url: "${vm.url}", tenant_id: "0:0" }\nstate: { path: '' }\n`;
  const app = await startApp(parseConfig(parseYaml(cfg)), pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }));
  try {
    const body = snappyCompress(encodeWriteRequest([{ labels: { __name__: 'up', job: 'x' }, timestamps: [Date.now()], values: [1] }]));
    const r = await request(`http://127.0.0.1:${app.receiver.address().port}/api/v1/write`, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
    assert.equal(r.status, 503, `retryable, not 400 (the sender would drop the data): ${r.status} ${r.body.toString()}`);
    assert.match(r.body.toString(), /unsupported path requested/, 'the datasource answer is quoted');
    const err = lines.find((l) => l.includes('"level":50') && l.includes('writer.tenant_id'));
    assert.ok(err, `an error log names writer.tenant_id:\n${lines.join('')}`);
  } finally {
    await app.close(1000);
    await vm.close();
  }
});
