/**
 * `npm run demo`: VictoriaMetrics + anomstream + a small synthetic sender, all on 127.0.0.1.
 *
 * 1. Starts /usr/bin/victoria-metrics with an empty data dir on 127.0.0.1:8428, or on a free port
 *    when 8428 is taken (a system victoria-metrics service, say: the demo neither fails nor writes
 *    into it), installing the Debian package `victoria-metrics` first when it is missing and we
 *    are root.
 * 2. Starts anomstream on 127.0.0.1:8490 (or a free port when that is taken) with a config scoring
 *    `demo_requests_per_second`, and prints both addresses.
 * 3. Backfills two hours of 15 s samples for 3 series (one with a spike and a level drop),
 *    then keeps sending live points every 5 s until Ctrl-C (or DEMO_SECONDS elapse).
 * Prints what it runs and where to look. Model state lives in the demo's temporary directory,
 * removed at the end: a demo run never restores the last one's models, and leaves nothing behind.
 * DEMO_VM / DEMO_LISTEN set the addresses exactly (a VictoriaMetrics already answering at DEMO_VM
 * is used as it is).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import snappy from 'snappyjs';

const HOST = '127.0.0.1';
/** Where VictoriaMetrics and anomstream listen: DEMO_VM / DEMO_LISTEN, or chosen in main(). */
let VM = '';
let AS = '';
const root = fileURLToPath(new URL('../..', import.meta.url));
const WR = protobuf.loadSync(join(root, 'proto', 'remote.proto')).lookupType('prometheus.WriteRequest');
const children: ChildProcess[] = [];
const say = (s: string): void => console.log(`[demo] ${s}`);

async function up(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function waitUp(url: string, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await up(url)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not come up at ${url}`);
}

function start(cmd: string, args: string[]): ChildProcess {
  say(`running: ${cmd} ${args.join(' ')}`);
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(c);
  return c;
}

/** `port` (0: one the system picks) if it can be listened on at 127.0.0.1 now, null when it is taken. */
function listenable(port: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' || e.code === 'EACCES' ? resolve(null) : reject(e)));
    s.listen(port, HOST, () => {
      const a = s.address();
      s.close(() => (a === null || typeof a === 'string' ? reject(new Error('no port')) : resolve(a.port)));
    });
  });
}

/** `fixed` (from the environment) as it is; else 127.0.0.1:`port`, or a free port when that is taken (said so). */
async function address(fixed: string | undefined, port: number, what: string): Promise<string> {
  if (fixed) return fixed;
  const p = (await listenable(port)) ?? (await listenable(0));
  if (p === null) throw new Error(`no free port on ${HOST}`);
  if (p !== port) say(`${HOST}:${port} is taken (another ${what}?): using ${HOST}:${p} for the demo's ${what}`);
  return `${HOST}:${p}`;
}

async function ensureVictoriaMetrics(dataDir: string): Promise<void> {
  if (process.env.DEMO_VM && (await up(`http://${VM}/health`))) return say(`using the VictoriaMetrics already running on ${VM}`);
  const bin = '/usr/bin/victoria-metrics';
  if (!existsSync(bin) && process.getuid?.() !== 0 && !process.env.DEMO_VM && (await up(`http://${HOST}:8428/health`))) {
    // Nothing to start it with, but one answers on the default port: the demo's data goes there.
    VM = `${HOST}:8428`;
    return say(`${bin} is missing: using the VictoriaMetrics already running on ${VM}`);
  }
  if (!existsSync(bin)) {
    if (process.getuid?.() !== 0) throw new Error(`${bin} is missing: install it with 'sudo apt-get install -y victoria-metrics' and run the demo again`);
    say('victoria-metrics is missing; running: apt-get update && apt-get install -y victoria-metrics');
    execFileSync('apt-get', ['update'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', 'victoria-metrics'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
  start(bin, [`-storageDataPath=${dataDir}`, `-httpListenAddr=${VM}`, '-search.latencyOffset=5s', '-loggerLevel=ERROR']);
  await waitUp(`http://${VM}/health`, 'VictoriaMetrics');
}

/** Three series: a calm one, one with a spike at 60% and a drop at 80% of the backfill, one not scored. */
function point(series: number, step: number, spikeStep: number, dropStep: number): number {
  const base = 100 + 10 * Math.sin((2 * Math.PI * step) / 480) + 3 * Math.sin(step * 1.7) + 2 * Math.cos(step * 0.9);
  if (series === 0) return base;
  if (series === 1) return step === spikeStep ? base * 3 : step >= dropStep ? base * 0.5 : base;
  return step;
}

function request(t: number, step: number, spikeStep: number, dropStep: number): Uint8Array {
  const mk = (name: string, instance: string, v: number) => ({
    labels: [
      { name: '__name__', value: name },
      { name: 'instance', value: instance },
      { name: 'job', value: 'demo' },
    ],
    samples: [{ value: v, timestamp: t }],
  });
  const msg = WR.fromObject({
    timeseries: [
      mk('demo_requests_per_second', 'calm:8080', point(0, step, spikeStep, dropStep)),
      mk('demo_requests_per_second', 'troubled:8080', point(1, step, spikeStep, dropStep)),
      mk('demo_uptime_steps', 'calm:8080', point(2, step, spikeStep, dropStep)),
    ],
  });
  return snappy.compress(WR.encode(msg).finish());
}

async function send(body: Uint8Array): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const r = await fetch(`http://${AS}/api/v1/write`, { method: 'POST', body: Buffer.from(body), headers: { 'content-encoding': 'snappy', 'content-type': 'application/x-protobuf' } });
    if (r.status === 204) return;
    if (r.status === 400) throw new Error(`anomstream answered 400: ${await r.text()}`);
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error('anomstream kept answering 503');
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'anomstream-demo-'));
  const stop = async (): Promise<void> => {
    const exited = children.filter((c) => c.exitCode === null).map((c) => new Promise((r) => c.once('exit', r)));
    for (const c of children) c.kill('SIGTERM');
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 10_000))]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    say('stopping');
    void stop().then(() => process.exit(0));
  });
  try {
    VM = await address(process.env.DEMO_VM, 8428, 'VictoriaMetrics');
    AS = await address(process.env.DEMO_LISTEN, 8490, 'anomstream');
    say(`VictoriaMetrics on ${VM}, anomstream on ${AS}`);
    await ensureVictoriaMetrics(join(dir, 'vm'));
    const cfg = join(dir, 'anomstream.yaml');
    writeFileSync(
      cfg,
      `server: { listen: "${AS}" }\nreader:\n  queries:\n    rps: 'demo_requests_per_second{job="demo"}'\nwriter: { datasource_url: "http://${VM}" }\nstate: { path: ${JSON.stringify(join(dir, 'state'))} }\nlogging: { level: warn }\n`,
    );
    start(process.execPath, [join(root, 'dist', 'src', 'cli.js'), '--config', cfg]);
    await waitUp(`http://${AS}/ready`, 'anomstream');
    const stepMs = 15_000;
    const steps = 480;
    const t0 = Math.floor(Date.now() / stepMs) * stepMs - steps * stepMs;
    const spike = Math.floor(steps * 0.6);
    const drop = Math.floor(steps * 0.8);
    say(`backfilling ${steps} points x 3 series (15 s apart) through anomstream; spike at ${new Date(t0 + spike * stepMs).toISOString()}, drop at ${new Date(t0 + drop * stepMs).toISOString()}`);
    for (let s = 0; s < steps; s++) await send(request(t0 + s * stepMs, s, spike, drop));
    await fetch(`http://${VM}/internal/force_flush`);
    await new Promise((r) => setTimeout(r, 1500));
    type Result = { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    const query = async (expr: string): Promise<Result> => (await fetch(`http://${VM}/api/v1/query?query=${encodeURIComponent(expr)}`)).json() as Promise<Result>;
    const max = await query('max_over_time(anomaly_score[3h])');
    const above = await query('sum_over_time((anomaly_score > bool 1)[3h:15s])');
    for (const r of max.data.result) {
      const n = above.data.result.find((a) => a.metric.instance === r.metric.instance)?.value[1] ?? '0';
      say(`${r.metric.instance}: max anomaly_score ${Number(r.value[1]).toFixed(2)}, points above 1: ${n}`);
    }
    say('');
    say(`open http://${VM}/vmui and query:  anomaly_score   (or  anomaly_score > 1,  yhat_lower, yhat, yhat_upper)`);
    say(`anomstream's own metrics: http://${AS}/metrics`);
    const seconds = Number(process.env.DEMO_SECONDS ?? Infinity);
    say(Number.isFinite(seconds) ? `sending live points for ${seconds} s` : 'sending live points every 5 s; Ctrl-C stops everything');
    const end = Date.now() + seconds * 1000;
    for (let s = steps; Date.now() < end; s++) {
      await new Promise((r) => setTimeout(r, Math.min(5000, Math.max(0, end - Date.now()))));
      await send(request(Date.now(), s, -1, drop));
    }
  } finally {
    await stop();
  }
}

main().catch((e: Error) => {
  console.error(`[demo] failed: ${e.message}`);
  for (const c of children) c.kill('SIGTERM');
  process.exit(1);
});
