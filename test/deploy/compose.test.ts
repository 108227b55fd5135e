/**
 * deploy/docker-compose.yml without a Docker engine: it parses, the files it mounts and builds
 * from exist, the configs it mounts are valid (anomstream --check-config, promtool check config),
 * every path a command names inside a container is mounted, and every URL or scrape target names
 * a service and the port that service listens on. The same files run natively in
 * test/e2e/operate.test.ts (deploy-stack.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { parseDocument, parse as parseYaml } from 'yaml';
import { REPO_ROOT, requireBinaries, runCli } from '../e2e/harness.js';
import { DEPLOY, deployFile } from './files.js';
import { PROMTOOL_BIN } from '../e2e/peers.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  expose?: (string | number)[];
  volumes?: string[];
  command?: string[];
  depends_on?: string[];
}
interface Compose {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

function loadCompose(): Compose {
  const doc = parseDocument(deployFile('docker-compose.yml'), { uniqueKeys: true });
  assert.deepEqual(doc.errors.map(String), [], 'docker-compose.yml parses');
  return doc.toJS() as Compose;
}

/** `host:container[:mode]` bind mounts and named volumes of a service. */
function mounts(s: Service): { source: string; target: string; bind: boolean }[] {
  return (s.volumes ?? []).map((v) => {
    const [source, target] = v.split(':');
    return { source, target, bind: source.startsWith('.') || source.startsWith('/') };
  });
}

/** The container path of a host file mounted by a service, e.g. ./alerts.yml -> /etc/vmalert/alerts.yml. */
function mountedAt(s: Service, hostRel: string): string | undefined {
  return mounts(s).find((m) => m.bind && posix.normalize(m.source) === posix.normalize(hostRel))?.target;
}

/** Ports a service declares (container side of `ports`, and `expose`). */
function declaredPorts(s: Service): number[] {
  return [...(s.ports ?? []).map((p) => Number(String(p).split(':').pop()!.split('/')[0])), ...(s.expose ?? []).map(Number)];
}

/** Host ports published (`ports` host side). */
function publishedPorts(c: Compose): Map<number, string> {
  const out = new Map<number, string>();
  for (const [name, s] of Object.entries(c.services)) for (const p of s.ports ?? []) out.set(Number(String(p).split(':')[0]), name);
  return out;
}

function flag(s: Service, name: string): string | undefined {
  const prefix = `-${name}=`;
  return s.command?.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

/** The port each service listens on, from its own settings (not from what compose declares). */
function listenPort(c: Compose, name: string): number {
  const s = c.services[name];
  const addr = flag(s, 'httpListenAddr');
  if (addr) return Number(addr.split(':').pop());
  if (name === 'anomstream') {
    const cfg = parseYaml(deployFile('anomstream.yml')) as { server: { listen: string } };
    return Number(cfg.server.listen.split(':').pop());
  }
  const defaults: Record<string, number> = { 'node-exporter': 9100, grafana: 3000 };
  assert.ok(defaults[name], `listen port of ${name} unknown to the test`);
  return defaults[name];
}

test('docker-compose.yml parses; VictoriaMetrics, vmagent, anomstream and vmalert are wired in the documented order', () => {
  const c = loadCompose();
  for (const name of ['victoriametrics', 'vmagent', 'anomstream', 'vmalert']) assert.ok(c.services[name], `service ${name}`);
  const host = (url: string | undefined): string => new URL(url ?? 'http://missing').hostname;
  assert.equal(host(flag(c.services.vmagent, 'remoteWrite.url')), 'anomstream', 'vmagent remote-writes to anomstream');
  const cfg = parseYaml(deployFile('anomstream.yml')) as { writer: { datasource_url: string } };
  assert.equal(host(cfg.writer.datasource_url), 'victoriametrics', 'anomstream forwards to VictoriaMetrics');
  assert.equal(host(flag(c.services.vmalert, 'datasource.url')), 'victoriametrics', 'vmalert queries VictoriaMetrics');
  for (const [name, s] of Object.entries(c.services)) for (const d of s.depends_on ?? []) assert.ok(c.services[d], `${name} depends on an existing service ${d}`);
});

test('the files compose builds from and mounts exist, named volumes are declared, and every container path a command names is mounted', () => {
  const c = loadCompose();
  const a = c.services.anomstream;
  assert.ok(a.build, 'anomstream is built from this repository');
  assert.ok(existsSync(join(DEPLOY, a.build.context, 'package.json')), `build context ${a.build.context} is the repository root`);
  assert.ok(existsSync(join(DEPLOY, a.build.context, a.build.dockerfile)), `${a.build.dockerfile} exists`);
  for (const [name, s] of Object.entries(c.services)) {
    assert.ok(s.image || s.build, `${name}: image or build`);
    for (const m of mounts(s)) {
      if (m.bind) assert.ok(existsSync(join(DEPLOY, m.source)), `${name}: mounted ${m.source} exists in deploy/`);
      else assert.ok(m.source in (c.volumes ?? {}), `${name}: volume ${m.source} is declared`);
    }
    for (const arg of s.command ?? []) {
      const path = /^-[\w.]+=(\/etc\/\S+)$/.exec(arg)?.[1];
      if (path)
        assert.ok(
          mounts(s).some((m) => path.startsWith(m.target)),
          `${name}: ${arg} names a mounted path`,
        );
    }
  }
  // The image reads /etc/anomstream/anomstream.yml (Dockerfile CMD) and keeps state in a volume.
  assert.ok(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8').includes(`"${mountedAt(a, './anomstream.yml')}"`), "the Dockerfile's --config is where compose mounts anomstream.yml");
  assert.ok(
    mounts(a).some((m) => !m.bind && m.target === '/var/lib/anomstream'),
    'anomstream state directory on a named volume',
  );
  // Grafana loads the dashboards from where compose mounts them.
  const provider = parseYaml(deployFile('grafana/provisioning/dashboards/anomstream.yml')) as { providers: { options: { path: string } }[] };
  assert.equal(provider.providers[0].options.path, mountedAt(c.services.grafana, './grafana/dashboards'));
});

test('every URL and scrape target names a service and the port it listens on; every port a service declares is one it listens on', () => {
  const c = loadCompose();
  const published = publishedPorts(c);
  for (const name of Object.keys(c.services)) {
    assert.ok(declaredPorts(c.services[name]).includes(listenPort(c, name)), `${name} declares the port it listens on (${listenPort(c, name)})`);
  }
  const endpoints: { where: string; host: string; port: number }[] = [];
  const add = (where: string, hostPort: string): void => {
    const [host, port] = hostPort.split(':');
    endpoints.push({ where, host, port: Number(port) });
  };
  for (const [name, s] of Object.entries(c.services)) {
    for (const arg of s.command ?? []) for (const m of arg.matchAll(/https?:\/\/([\w.-]+:\d+)/g)) add(`${name} ${arg}`, m[1]);
  }
  add('anomstream.yml writer.datasource_url', new URL((parseYaml(deployFile('anomstream.yml')) as { writer: { datasource_url: string } }).writer.datasource_url).host);
  const scrape = parseYaml(deployFile('vmagent/scrape.yml')) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  for (const job of scrape.scrape_configs) for (const sc of job.static_configs) for (const t of sc.targets) add(`vmagent/scrape.yml job ${job.job_name}`, t);
  const ds = parseYaml(deployFile('grafana/provisioning/datasources/victoriametrics.yml')) as { datasources: { url: string }[] };
  for (const d of ds.datasources) add('grafana datasource', new URL(d.url).host);
  assert.ok(endpoints.length >= 10, `${endpoints.length} endpoints found`);
  for (const e of endpoints) {
    if (e.host === 'localhost') {
      // A link for the user's browser: a port compose publishes on the host.
      assert.ok(published.has(e.port), `${e.where}: localhost:${e.port} is published by a service`);
      continue;
    }
    assert.ok(c.services[e.host], `${e.where}: ${e.host} is a service`);
    assert.equal(e.port, listenPort(c, e.host), `${e.where}: ${e.host} listens on ${listenPort(c, e.host)}`);
  }
  // Every service the scrape config names is scraped on its listening port (checked above), and
  // anomstream is among them under the job name the health rules select.
  assert.ok(scrape.scrape_configs.some((j) => /^anomstream/.test(j.job_name) && j.static_configs.some((sc) => sc.targets.some((t) => t.startsWith('anomstream:')))));
});

test('the configs compose mounts are valid: anomstream --check-config, promtool check config', async (t) => {
  const r = await runCli(['--check-config', join(DEPLOY, 'anomstream.yml')]);
  assert.equal(r.code, 0, r.output);
  if (!requireBinaries(t, PROMTOOL_BIN)) return;
  const p = spawnSync(PROMTOOL_BIN, ['check', 'config', join(DEPLOY, 'vmagent', 'scrape.yml')], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(p.status, 0, `${p.stdout}${p.stderr}`);
  assert.ok(existsSync(join(REPO_ROOT, '.dockerignore')), '.dockerignore keeps node_modules and dist out of the build context');
});
