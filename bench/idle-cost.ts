// CPU and wake-ups of an idle anomstream: what every instance (every shard) pays per second with no
// traffic. Starts the counting sink (bench/sink.ts) and anomstream with compare.ts' config (every
// series selected), waits --settle-s, then reads the process' utime + stime from /proc over
// --seconds and, with --strace-s > 0, counts its system calls with `strace -c -f` (epoll_pwait
// returns = event-loop wake-ups). --cli A,B: several builds (e.g. main's tree built into a
// directory and this checkout), measured one after the other, --rounds times in rotation.
//
//   node dist/bench/idle-cost.js [--cli dist/src/cli.js,/tmp/main/dist/src/cli.js] [--seconds 40] [--strace-s 20] [--rounds 2]

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, root, sleep, start, stop, waitHttp } from './procs.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : def;
}

/** utime + stime of `pid`, ms (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

/** strace -c -f on `pid` for `s` seconds: calls per syscall. */
function straceCounts(pid: number, s: number): Promise<Map<string, number>> {
  return new Promise((resolve) => {
    execFile('timeout', ['-s', 'INT', String(s), 'strace', '-c', '-f', '-p', String(pid)], { maxBuffer: 1 << 20 }, (_e, _out, err) => {
      const m = new Map<string, number>();
      for (const line of String(err).split('\n')) {
        const f = line.trim().split(/\s+/);
        // % time, seconds, usecs/call, calls, [errors], syscall
        if (f.length >= 5 && /^\d+\.\d+$/.test(f[0]) && f[f.length - 1] !== 'total') m.set(f[f.length - 1], Number(f[3]));
      }
      resolve(m);
    });
  });
}

async function one(cli: string, seconds: number, straceS: number, settleS: number): Promise<{ cpuMsPerS: number; calls: Map<string, number> }> {
  const tmp = mkdtempSync(path.join(tmpdir(), 'anomstream-idle-'));
  const sinkPort = await freePort();
  const sink = start(process.execPath, [path.join(root, 'dist/bench/sink.js'), '--port', String(sinkPort), '--mode', 'raw'], '1');
  const p = await freePort();
  const cfg = path.join(tmp, 'anomstream.yaml');
  writeFileSync(
    cfg,
    [`server: { listen: "127.0.0.1:${p}" }`, `reader: { queries: { bench: '{__name__=~".+"}' } }`, `writer: { datasource_url: "http://127.0.0.1:${sinkPort}" }`, `logging: { level: warn }`, ''].join('\n'),
  );
  const anom = start(process.execPath, [cli, '--config', cfg], '0', undefined, tmp);
  try {
    await waitHttp(`http://127.0.0.1:${sinkPort}/health`, sink, 10_000);
    await waitHttp(`http://127.0.0.1:${p}/health`, anom, 20_000);
    await sleep(settleS * 1000);
    const c0 = cpuMs(anom.pid);
    const t0 = Date.now();
    await sleep(seconds * 1000);
    const cpuMsPerS = (cpuMs(anom.pid) - c0) / ((Date.now() - t0) / 1000);
    const calls = straceS > 0 ? await straceCounts(anom.pid, straceS) : new Map<string, number>();
    for (const [k, v] of calls) calls.set(k, v / straceS);
    return { cpuMsPerS, calls };
  } finally {
    await stop(anom);
    await stop(sink);
  }
}

async function main(): Promise<void> {
  const clis = arg('--cli', path.join(root, 'dist/src/cli.js')).split(',');
  const seconds = Number(arg('--seconds', '40'));
  const straceS = Number(arg('--strace-s', '20'));
  const rounds = Number(arg('--rounds', '2'));
  const settleS = Number(arg('--settle-s', '10'));
  console.log('| build | round | idle CPU ms/s | epoll_pwait/s | futex/s | all syscalls/s |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (let r = 0; r < rounds; r++) {
    for (const cli of clis) {
      const x = await one(cli, seconds, straceS, settleS);
      let all = 0;
      for (const v of x.calls.values()) all += v;
      const f = (k: string): string => (x.calls.get(k) ?? 0).toFixed(1);
      console.log(`| ${cli} | ${r + 1} | ${x.cpuMsPerS.toFixed(2)} | ${f('epoll_pwait')} | ${f('futex')} | ${all.toFixed(1)} |`);
    }
  }
}

await main();
