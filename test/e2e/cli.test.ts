/**
 * Issue 18: command-line conventions of vmagent and vmanomaly users, on the built CLI
 * (`node dist/src/cli.js`): --config=FILE, -config FILE, a bare FILE, -version, unknown flags,
 * --help, --log-format text, --log-level, the start-up summary without secrets, replay.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLI, Proc, REPO_ROOT, freePort, request, runCli, tempDir, waitFor } from './harness.js';

const dir = tempDir('cli');
test.after(() => rmSync(dir, { recursive: true, force: true }));
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** A config on a free port; the datasource (port 9, discard) never answers, which start-up tolerates. */
async function config(name: string, extra = ''): Promise<{ path: string; port: number }> {
  const port = await freePort();
  const path = file(
    name,
    `server: { listen: "127.0.0.1:${port}" }
reader: { queries: { cpu: 'node_load1{job="node"}', disk: { expr: node_disk_read_bytes_total, transform: rate, data_range: [0, 'inf'] } } }
models: { fast: { class: model.online.OnlineZscoreModel, queries: [cpu] } }
writer: { datasource_url: "http://svc:hunter2secret@127.0.0.1:9" }
${extra}`,
  );
  return { path, port };
}

/** Starts the CLI with `args`, waits for GET /health, stops it (SIGTERM) and returns what it printed. */
async function run(args: string[], port: number): Promise<string> {
  const p = new Proc('anomstream', process.execPath, [CLI, ...args], { cwd: dir }); // state.path (default) under dir
  try {
    await waitFor('anomstream /health', async () => {
      if (!p.running) throw new Error(`exited ${p.exitCode}: ${p.output()}`);
      return (await request(`http://127.0.0.1:${port}/health`, { timeoutMs: 1000 })).status === 200 ? true : undefined;
    });
  } finally {
    await p.stop();
  }
  assert.equal(p.exitCode, 0, p.output());
  return p.output();
}

test('--config=FILE --log-format text: readable lines (time, level, message, fields), version and config summary, no secret', async () => {
  const c = await config('text.yaml');
  const out = await run([`--config=${c.path}`, '--log-format', 'text'], c.port);
  const lines = out.trim().split('\n');
  for (const l of lines) assert.match(l, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (trace|debug|info |warn |error|fatal) \S/, l);
  assert.doesNotMatch(out, /\{"level"/);
  assert.match(
    out,
    new RegExp(
      `info  anomstream starting version=${VERSION.replace(/\./g, '\\.')} config=\\S+text\\.yaml .*listen=127\\.0\\.0\\.1:${c.port} .*datasource\\.url=http://127\\.0\\.0\\.1:9/ .*datasource\\.auth="basic \\(user 'svc'\\)"`,
    ),
  );
  assert.match(out, /info {2}query query=cpu expr="node_load1\{job=\\"node\\"\}"/);
  assert.match(out, /info {2}query query=disk expr=node_disk_read_bytes_total transform=rate data_range=\[0,"inf"\]/);
  assert.match(out, /info {2}model model=fast class=zscore_online queries=\["cpu"\]/);
  assert.match(out, /info {2}anomstream listening /);
  assert.ok(!out.includes('hunter2secret'), 'the password never reaches the log');
});

/** Addresses listening on TCP `port`, from the kernel's tables (no traffic): '0.0.0.0', '::', ... */
function listeningOn(port: number): string[] {
  const out: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local) continue; // 0A: LISTEN
      const [addr, p] = local.split(':');
      if (parseInt(p, 16) !== port) continue;
      out.push(/^0+$/.test(addr) ? (addr.length === 32 ? '::' : '0.0.0.0') : addr);
    }
  }
  return out;
}

test("server.listen ':PORT' listens on every interface, IPv6 too, as Go's ':PORT' does (vmagent, VictoriaMetrics)", async () => {
  const port = await freePort();
  const path = file('all.yaml', `server: { listen: ":${port}" }\nreader: { queries: { cpu: node_load1 } }\nwriter: { datasource_url: "http://127.0.0.1:9" }\nstate: { path: "" }\n`);
  const p = new Proc('anomstream', process.execPath, [CLI, '--config', path, '--log-format', 'text'], { cwd: dir });
  try {
    await waitFor('anomstream /health', async () => {
      if (!p.running) throw new Error(`exited ${p.exitCode}: ${p.output()}`);
      return (await request(`http://127.0.0.1:${port}/health`, { timeoutMs: 1000 })).status === 200 ? true : undefined;
    });
    const ipv6 = existsSync('/proc/net/if_inet6') && readFileSync('/proc/net/if_inet6', 'utf8').trim() !== '';
    // With IPv6, one dual-stack socket on '::' takes IPv4 too (the request above came by 127.0.0.1).
    assert.deepEqual(listeningOn(port), [ipv6 ? '::' : '0.0.0.0'], p.output());
    assert.match(p.output(), new RegExp(`anomstream listening listen=${ipv6 ? '\\[::\\]' : '0\\.0\\.0\\.0'}:${port} `));
  } finally {
    await p.stop();
  }
});

test('-config FILE (vmagent style), json by default; --log-level overrides logging.level', async () => {
  const c = await config('json.yaml', 'logging: { level: debug }');
  const out = await run(['-config', c.path, '--log-level=warn'], c.port);
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { level: number; msg: string });
  assert.ok(lines.length > 0 && lines.every((l) => l.level >= 40), out);
  const info = await run([c.path, '-loggerLevel=INFO'], c.port); // a bare FILE, as vmanomaly takes it; vmagent's flag name
  const msgs = info
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert.ok(msgs.includes('anomstream starting') && msgs.includes('anomstream listening'), info);
  assert.ok(!info.includes('hunter2secret'));
});

test('-version and --version print the package version', async () => {
  for (const flag of ['-version', '--version']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0, r.output);
    assert.equal(r.output.trim(), VERSION);
  }
});

test('unknown flags, missing values and stray arguments: exit 2 naming them', async () => {
  const cases: [string[], RegExp][] = [
    [['--bogus'], /unknown flag '--bogus'/],
    [['--confg', 'x.yaml'], /unknown flag '--confg': did you mean --config\?/],
    [['-loggerFormat=xml', '--config', 'x.yaml'], /--log-format: expected json or text, got 'xml'/],
    [['--log-level', 'loud', '--config', 'x.yaml'], /--log-level: expected one of fatal, error, warn, info, debug, trace, got 'loud'/],
    [['--config'], /--config needs a value/],
    [['--version=2'], /--version takes no value/],
    [['a.yaml', 'b.yaml'], /unexpected argument 'b\.yaml'/],
    [[], /missing the configuration: anomstream --config FILE/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.output}`);
    assert.match(r.output, re, args.join(' '));
  }
});

test('--help lists every flag and subcommand', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const s of ['--config FILE', '--check-config FILE', '--log-format json|text', '--log-level LEVEL', '--version', '--help', 'replay', '--input FILE', '--query ALIAS', '--model NAME', '--output FILE']) {
    assert.ok(r.output.includes(s), `--help lacks ${s}:\n${r.output}`);
  }
  assert.equal((await runCli(['-h'])).output, r.output);
});

test("--check-config FILE... checks every file: 0 when all are valid, else 2 with each file's problems", async () => {
  const good = (await config('good.yaml')).path;
  const bad = file('bad.yaml', 'reader: { queries: { cpu: up } }\nwriter: { datasource_url: "http://vm:8428/api/v1/write" }\n');
  const ok = await runCli([`--check-config=${good}`]);
  assert.equal(ok.code, 0, ok.output);
  assert.match(ok.output, /good\.yaml: valid \(2 queries, 1 model\)/);
  const one = await runCli(['--check-config', file('one.yaml', 'reader: { queries: { cpu: up } }\nwriter: { datasource_url: "http://vm:8428" }\n')]);
  assert.match(one.output, /one\.yaml: valid \(1 query, 1 model\)\n/, one.output);
  const both = await runCli(['--check-config', good, bad]);
  assert.equal(both.code, 2, both.output);
  assert.match(both.output, /good\.yaml: valid/);
  assert.match(both.output, /bad\.yaml: 1 problem:\nwriter\.datasource_url: ends in the write path/);
});

test('replay still works through the CLI', async () => {
  const csv = ['timestamp,value', ...Array.from({ length: 40 }, (_, i) => `${1_700_000_000 + i * 60},${i === 35 ? 100 : 10 + (i % 3)}`)].join('\n');
  const r = await runCli(['replay', '--input', file('in.csv', csv), '--model', 'zscore_online']);
  assert.equal(r.code, 0, r.output);
  const rows = r.output.trim().split('\n');
  assert.equal(rows[0], 'timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score');
  assert.equal(rows.length, 41);
  assert.ok(Number(rows[36].split(',')[5]) > 1, rows[36]);
});
