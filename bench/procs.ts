// Child processes for the bench scripts (compare, memory, ttd): start one with its output kept in a
// ring (for the error message when it dies), wait until it answers HTTP, stop it (SIGTERM, then SIGKILL
// after a timeout); a free port; bench/load.js run as a child for its JSON report; and a snapshot of
// dist/src so that a rebuild by someone else during a long run does not mix builds.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, symlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Downstream } from '../src/forward/downstream.js';
import type { LoadReport } from './load.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/bench
/** Repository root (dist/bench/../..). */
export const root = path.resolve(here, '../..');

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A port the OS reports free right now (bind to 0, read it, close): no collisions between concurrent runs. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
}

export interface Proc {
  child: ChildProcess;
  /** The command's pid (taskset execs the command, so it is the same process). */
  pid: number;
  /** The last 200 chunks of stdout + stderr. */
  log: string[];
  /** Wall clock (ms) at spawn. */
  spawnMs: number;
  /** Whole output lines matching `start`'s `collect` (none without it). */
  lines: string[];
}

/**
 * Spawns `cmd args`, pinned with `taskset -c cpu` unless cpu is null; `collect` keeps the output lines it
 * matches; `cwd` (default: this process's) is where anomstream keeps its state.path (`anomstream-state`).
 */
export function start(cmd: string, args: string[], cpu: string | null, collect?: RegExp, cwd?: string): Proc {
  const argv = cpu === null ? [cmd, ...args] : ['taskset', '-c', cpu, cmd, ...args];
  const spawnMs = Date.now();
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], cwd });
  const log: string[] = [];
  const lines: string[] = [];
  let partial = '';
  const keep = (b: Buffer): void => {
    const text = b.toString();
    log.push(text);
    if (log.length > 200) log.shift();
    if (collect) {
      const ls = (partial + text).split('\n');
      partial = ls.pop() ?? '';
      for (const l of ls) if (collect.test(l)) lines.push(l);
    }
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, pid: child.pid ?? 0, log, spawnMs, lines };
}

/** Resolves once GET url answers 2xx; throws with the process's last output if it exits first or time runs out. */
export async function waitHttp(url: string, proc: Proc, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`exited with ${proc.child.exitCode} before ready: ${proc.log.join('').slice(-2000)}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${proc.log.join('').slice(-2000)}`);
}

/** SIGTERM, then SIGKILL if it has not exited after timeoutMs; resolves once it has exited. */
export async function stop(proc: Proc, timeoutMs = 10_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => proc.child.once('exit', () => r()));
  proc.child.kill('SIGTERM');
  const t = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(t);
}

/** Runs `node dist/bench/load.js --json ARGS` on CPU 1 and returns its report (its last stdout line). */
export function runLoad(args: string[]): Promise<LoadReport> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '1', process.execPath, path.join(here, 'load.js'), '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as LoadReport);
      } catch {
        reject(new Error(`load.js failed: ${err.slice(-2000)} ${out.slice(-500)}`));
      }
    });
  });
}

/**
 * Copies dist/src (+ package.json, a node_modules link) under tmp once, so every anomstream run of one
 * bench executes the same code; returns the copy's cli.js.
 */
export function snapshotAnomstream(tmp: string): string {
  const snap = path.join(tmp, 'anomstream');
  cpSync(path.join(root, 'dist/src'), path.join(snap, 'dist/src'), { recursive: true });
  cpSync(path.join(root, 'package.json'), path.join(snap, 'package.json'));
  symlinkSync(path.join(root, 'node_modules'), path.join(snap, 'node_modules'));
  return path.join(snap, 'dist/src/cli.js');
}

/** A command's trimmed stdout, run in the repository root; '?' if it fails (for the report header). */
export function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

/**
 * For the HTTP-out benches (post-cost, coalesce-cost): this process pinned to CPU 0, the counting
 * sink (bench/sink.ts, `raw` mode) started on CPU 1, and a Downstream to it.
 */
export async function pinnedSink(): Promise<{ sink: Proc; down: Downstream }> {
  try {
    execFileSync('taskset', ['-pc', '0', String(process.pid)], { stdio: 'ignore' });
  } catch {
    // no taskset: unpinned
  }
  const port = await freePort();
  const sink = start(process.execPath, [path.join(here, 'sink.js'), '--port', String(port), '--mode', 'raw'], '1');
  await waitHttp(`http://127.0.0.1:${port}/counts`, sink, 10_000);
  return { sink, down: new Downstream({ url: new URL(`http://127.0.0.1:${port}`), timeoutMs: 30_000 }) };
}
