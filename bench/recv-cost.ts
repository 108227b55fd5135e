// CPU of anomstream's HTTP in per request: the receive path (src/receive/server.ts: node:http,
// routing, admission, body reading into BodyBuffers, metrics, the 204) with the write handler
// replaced by one that answers at once, so what is measured is the fixed cost of a request on the
// receive side and nothing of decode, scoring or the forward. The server runs in a child process on
// CPU 0; this process (on CPU 1) POSTs bodies of a given size with 4 requests in flight on 4
// keep-alive connections (undici Pool, as vmagent and Prometheus keep theirs) and reads the child's
// CPU (user + system, process.cpuUsage over IPC) before and after each round.
//
//   node dist/bench/recv-cost.js [--sizes 40000,300000] [--requests 5000] [--rounds 5] [--servers receiver,bare,base] [--base-dir DIR]
//     [--ballast-mb 64] [--cpu-prof-dir D]
//
// Servers: `receiver` = the Receiver as anomstream builds it (default limits); `bare` = a plain
// node:http server that copies the body into one reused buffer and answers 204: the floor node:http
// itself costs; `base` = the Receiver of the build in --base-dir (e.g. main's tree built with tsc). Sizes and servers alternate within every round; median (min-max) of the rounds.

import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Pool } from 'undici';
import type { Registry as RegistryT } from '../src/metrics/registry.js';
import type { Receiver as ReceiverT } from '../src/receive/server.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}

function pin(cpu: string): void {
  try {
    execFileSync('taskset', ['-pc', cpu, String(process.pid)], { stdio: 'ignore' });
  } catch {
    // no taskset: unpinned
  }
}

/** Child: serve, report the port, answer 'cpu' with process.cpuUsage(). */
async function serve(kind: string, ballastMb: number): Promise<void> {
  pin('0');
  // anomstream's heap holds its series state (tens of MB at 10,000 series). A 9 MB heap instead
  // makes V8 start a full GC every ~100 ms (its old space left is smaller than the new space),
  // which is not what the proxy pays per request: an old space of about that size as ballast, one
  // array of doubles (a million small objects made every full GC mark them all: rounds of the
  // same build differed 2x).
  const ballast = Array.from({ length: (ballastMb << 20) / 8 }, () => 0.5);
  (globalThis as { ballast?: unknown }).ballast = ballast;
  let port: number;
  if (kind === 'bare') {
    const buf = Buffer.allocUnsafe(4 << 20);
    const srv = createServer((req, res) => {
      let n = 0;
      req.on('data', (c: Buffer) => {
        c.copy(buf, n);
        n += c.length;
      });
      req.on('end', () => {
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    port = (srv.address() as { port: number }).port;
  } else {
    // `base`: the Receiver of another build (--base-dir: a checkout built with tsc), for A/B in the same rotation.
    const dist = kind === 'base' ? `${path.resolve(process.argv[process.argv.indexOf('--serve') + 3])}/dist/src` : new URL('../src', import.meta.url).pathname;
    const { Receiver } = (await import(`${dist}/receive/server.js`)) as { Receiver: typeof ReceiverT };
    const { Registry } = (await import(`${dist}/metrics/registry.js`)) as { Registry: typeof RegistryT };
    const budget = { used: 0, capacity: Number.MAX_SAFE_INTEGER, take: (n: number) => ((budget.used += n), true), give: (n: number) => void (budget.used -= n) };
    const rec = new Receiver({
      host: '127.0.0.1',
      port: 0,
      maxRequestBytes: 32 << 20,
      maxInFlight: 8,
      maxQueueMs: 10_000,
      maxConnections: 1000,
      readTimeoutMs: 60_000,
      minReadRate: 1024,
      idleTimeoutMs: 60_000,
      memory: budget,
      auth: null,
      metricsAuth: false,
      tenantPaths: false,
      allowedTenants: null,
      write: (body) => Promise.resolve({ status: 204, message: '', samples: body.length >> 4 }),
      readyDetail: () => '',
      statusPage: () => '',
      reload: () => Promise.resolve({ ok: true, message: '' }),
      registry: new Registry(),
      log: pino({ level: 'warn' }),
    });
    await rec.listen();
    port = rec.address().port;
  }
  process.on('message', (m) => {
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpu: u.user + u.system });
    } else if (m === 'exit') process.exit(0);
  });
  process.send!({ port });
}

function ask(child: ChildProcess, msg: string): Promise<Record<string, number>> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as Record<string, number>));
    child.send(msg);
  });
}

async function main(): Promise<void> {
  const sizes = arg('--sizes', '40000,300000').split(',').map(Number);
  const requests = Number(arg('--requests', '5000'));
  const rounds = Number(arg('--rounds', '5'));
  const kinds = arg('--servers', 'receiver,bare').split(',');
  const prof = arg('--cpu-prof-dir', '');
  pin('1');
  const servers = await Promise.all(
    kinds.map(async (kind) => {
      const execArgv = [...(prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : []), ...(process.env.RECV_COST_NODE_FLAGS ?? '').split(' ').filter(Boolean)];
      const child = fork(fileURLToPath(import.meta.url), ['--serve', kind, arg('--ballast-mb', '64'), arg('--base-dir', '')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
      const { port } = await new Promise<{ port: number }>((r) => child.once('message', (m) => r(m as { port: number })));
      return { kind, child, pool: new Pool(`http://127.0.0.1:${port}`, { connections: 4, pipelining: 1 }) };
    }),
  );
  const bodies = sizes.map((n) => randomBytes(n));
  const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0', 'user-agent': 'recv-cost' };
  const run = async (s: (typeof servers)[number], body: Buffer, n: number): Promise<number> => {
    let next = 0;
    const c0 = (await ask(s.child, 'cpu')).cpu;
    const worker = async (): Promise<void> => {
      while (next++ < n) {
        const r = await s.pool.request({ method: 'POST', path: '/api/v1/write', headers, body });
        await r.body.dump();
        if (r.statusCode !== 204) throw new Error(`${s.kind}: ${r.statusCode}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    const c1 = (await ask(s.child, 'cpu')).cpu;
    return (c1 - c0) / n;
  };
  for (const s of servers) for (const b of bodies) await run(s, b, Math.min(requests, 2000)); // warm
  const results = servers.map(() => sizes.map(() => [] as number[]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < servers.length; k++) {
      for (let j = 0; j < sizes.length; j++) {
        const si = (k + r) % servers.length;
        const i = (j + r) % sizes.length;
        results[si][i].push(await run(servers[si], bodies[i], requests));
      }
    }
  }
  for (const s of servers) {
    await s.pool.close();
    s.child.send('exit');
  }
  console.log('| server | body bytes | server CPU µs per request, median (min-max) |');
  console.log('| --- | --- | --- |');
  const med = (v: number[]): string => {
    const w = [...v].sort((x, y) => x - y);
    return `${w[Math.floor(w.length / 2)].toFixed(2)} (${w[0].toFixed(2)}-${w[w.length - 1].toFixed(2)})`;
  };
  servers.forEach((s, k) => sizes.forEach((size, i) => console.log(`| ${s.kind} | ${size} | ${med(results[k][i])} |`)));
  // Per round, the first server over each other one (the same round: the same machine state).
  console.log('\n| ratio | body bytes | per round, median (min-max) |\n| --- | --- | --- |');
  for (let k = 1; k < servers.length; k++) {
    sizes.forEach((size, i) => console.log(`| ${servers[0].kind} / ${servers[k].kind} | ${size} | ${med(results[0][i].map((v, r) => v / results[k][i][r]))} |`));
  }
}

const i = process.argv.indexOf('--serve');
if (i >= 0) await serve(process.argv[i + 1], Number(process.argv[i + 2]));
else await main();
