/**
 * vmauth in front of VictoriaMetrics (writer.datasource_url pointing at it, as vmanomaly's guide
 * does) answers two configuration problems 400, not 401/404: a password it does not know
 * ("cannot find the provided auth token", vmauth 1.79) and a path none of its routes take
 * ("missing route for", every version). Neither is the data's fault: passed back as 400, vmagent
 * would drop every block written while a password is rotated or a route fixed. Real vmauth, real
 * VictoriaMetrics and a real vmagent: the sender gets 503 in both cases and, once vmauth's config
 * is fixed (SIGHUP), every sample arrives.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Anomstream, Proc, VMAGENT_BIN, VM_BIN, VictoriaMetrics, VmAgent, distinctSamples, dumpProcesses, freePort, request, requireBinaries, seriesKey, tempDir, waitFor } from './harness.js';
import { makeDataset } from './scenario.js';

const VMAUTH_BIN = process.env.VMAUTH_BIN ?? '/usr/bin/vmauth';

test("vmauth's 400 for an unknown password or a missing route: the sender gets 503 and keeps the data; once vmauth is fixed, every sample arrives", { timeout: 150_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, VMAGENT_BIN, VMAUTH_BIN)) return;
  let vm: VictoriaMetrics | undefined;
  let auth: Proc | undefined;
  let anom: Anomstream | undefined;
  let agent: VmAgent | undefined;
  try {
    vm = await VictoriaMetrics.start();
    const authFile = join(tempDir('vmauth'), 'auth.yml');
    const authConfig = (password: string, route: string): void =>
      writeFileSync(authFile, `users:\n  - username: anom\n    password: ${password}\n    url_map:\n      - src_paths: ["${route}"]\n        url_prefix: "${vm!.url}"\n`);
    // Phase 1: vmauth knows another password than anomstream's (a rotation half done).
    authConfig('new-secret', '/api/v1/write');
    const authPort = await freePort();
    const authUrl = `http://127.0.0.1:${authPort}`;
    auth = new Proc('vmauth', VMAUTH_BIN, [`-auth.config=${authFile}`, `-httpListenAddr=127.0.0.1:${authPort}`, '-loggerLevel=WARN']);
    await waitFor('vmauth /health', async () => ((await request(`${authUrl}/health`, { timeoutMs: 2000 })).status === 200 ? true : undefined));
    const authErrors = async (reason: string): Promise<number> => {
      const m = new RegExp(`^vmauth_http_request_errors_total\\{reason="${reason}"\\} (\\S+)$`, 'm').exec((await request(`${authUrl}/metrics`)).body.toString());
      return m ? Number(m[1]) : 0;
    };
    anom = await Anomstream.start(
      (port) => `server: { listen: "127.0.0.1:${port}" }\nreader:\n  queries:\n    q: 'auth_cpu{job="node"}'\nwriter: { datasource_url: "${authUrl}", user: anom, password: old-secret }\nstate: { path: "" }\n`,
    );
    agent = await VmAgent.start(`${anom.url}/api/v1/write`);
    const status = (code: number): Promise<number> => agent!.metric('vmagent_remotewrite_requests_total', (l) => l.includes(`status_code="${code}"`));

    const ds = makeDataset({ points: 30, spikeAt: 20, seed: 43, prefix: 'auth' });
    await agent.importJsonLines(ds.all);
    await waitFor('vmauth to refuse the unknown password', async () => ((await authErrors('invalid_auth_token')) > 0 && (await status(503)) > 0 ? true : undefined), 30_000);
    assert.equal(await status(400), 0, 'an unknown password: vmagent never got 400 (it would drop the block)');

    // Phase 2: the password is right, but no route takes the write path.
    authConfig('old-secret', '/api/v1/query');
    auth.child.kill('SIGHUP');
    await waitFor('vmauth to refuse the path (missing route)', async () => ((await authErrors('missing_route')) > 0 ? true : undefined), 30_000);
    const refused = await status(503);
    await waitFor('vmagent to retry against the missing route', async () => ((await status(503)) > refused ? true : undefined), 30_000);
    assert.equal(await status(400), 0, 'a missing vmauth route: vmagent never got 400');

    // Phase 3: fixed: every sample vmagent was given arrives.
    authConfig('old-secret', '/api/v1/write');
    auth.child.kill('SIGHUP');
    const want = new Map(ds.all.map((s) => [seriesKey(s.labels), new Set(s.timestamps)]));
    const got = await waitFor(
      'every sample once vmauth routes the write',
      async () => {
        const exp = await vm!.exportSeries('{__name__=~"auth_.*"}');
        return exp.reduce((n, s) => n + distinctSamples(s).size, 0) >= ds.all.length * ds.points ? exp : undefined;
      },
      60_000,
      500,
    );
    assert.deepEqual(new Map(got.map((s) => [seriesKey(s.metric), new Set(distinctSamples(s).keys())])), want, 'every (series, timestamp) pushed into vmagent is in VictoriaMetrics');
    assert.equal(await status(400), 0);
    assert.match(anom.proc.output(), /missing route for|cannot find the provided auth token/, "an error log quotes vmauth's answer");
    // vmauth quotes the Authorization header it did not know: base64 of anom:old-secret.
    const secret = Buffer.from('anom:old-secret').toString('base64');
    assert.ok(!anom.proc.output().includes(secret), "anomstream's log never shows its credentials");
    assert.ok(!agent.proc!.output().includes(secret), 'nor does its answer to the sender (vmagent logs it)');
  } catch (e) {
    dumpProcesses(t, [vm?.proc, auth, anom?.proc, agent?.proc]);
    throw e;
  } finally {
    await agent?.close();
    await anom?.close();
    await auth?.stop();
    await vm?.close();
  }
});
