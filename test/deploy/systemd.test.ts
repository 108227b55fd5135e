/**
 * deploy/systemd/: the unit and the instance template unit. Parsed here (what they must say), and
 * checked by `systemd-analyze verify` (Debian package systemd; .ci/run installs it), which loads
 * them as systemd would and reports unknown keys, bad values and missing executables.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDurationMs } from '../../src/config/duration.js';
import { requireBinaries, tempDir } from '../e2e/harness.js';
import { DEPLOY } from './files.js';

const SYSTEMD_ANALYZE = process.env.SYSTEMD_ANALYZE_BIN ?? '/usr/bin/systemd-analyze';
const UNITS = ['anomstream.service', 'anomstream@.service'];

/** section -> key -> values (a key may repeat). */
type Unit = Map<string, Map<string, string[]>>;

function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(\w+)\]$/.exec(line);
    if (head) {
      unit.set(head[1], (section = new Map()));
      continue;
    }
    const kv = /^(\w+)=(.*)$/.exec(line);
    assert.ok(kv && section, `unit line: ${line}`);
    section.set(kv[1], [...(section.get(kv[1]) ?? []), kv[2]]);
  }
  return unit;
}

function get(u: Unit, section: string, key: string): string {
  const v = u.get(section)?.get(key);
  assert.ok(v && v.length === 1, `[${section}] ${key}= once`);
  return v[0];
}

const read = (name: string): string => readFileSync(join(DEPLOY, 'systemd', name), 'utf8');

test('the units run node dist/src/cli.js --config, unprivileged, with a state directory, a stop timeout above the 30 s drain, and no restart on a config error', () => {
  for (const name of UNITS) {
    const u = parseUnit(read(name));
    const template = name.includes('@');
    const exec = get(u, 'Service', 'ExecStart').split(/\s+/);
    assert.match(exec[0], /\/node$/, `${name}: ExecStart runs node`);
    assert.match(exec[1], /\/dist\/src\/cli\.js$/, `${name}: ExecStart runs dist/src/cli.js`);
    assert.equal(exec[2], '--config');
    assert.equal(exec[3], template ? '/etc/anomstream/%i.yml' : '/etc/anomstream/anomstream.yml', `${name}: config path`);
    assert.equal(get(u, 'Service', 'StateDirectory'), template ? 'anomstream/%i' : 'anomstream', `${name}: state directory`);
    assert.ok(get(u, 'Service', 'DynamicUser') === 'yes' || !['root', '0'].includes(u.get('Service')?.get('User')?.[0] ?? 'root'), `${name}: not root`);
    assert.equal(get(u, 'Service', 'RestartPreventExitStatus'), '2', `${name}: exit 2 (invalid config) is not restarted`);
    assert.equal(get(u, 'Service', 'KillSignal'), 'SIGTERM');
    assert.equal(get(u, 'Service', 'ExecReload'), '/bin/kill -HUP $MAINPID', `${name}: systemctl reload sends SIGHUP (anomstream re-reads its config)`);
    assert.ok(parseDurationMs(get(u, 'Service', 'TimeoutStopSec'))! > 30_000, `${name}: TimeoutStopSec above anomstream's 30 s drain`);
    assert.equal(get(u, 'Install', 'WantedBy'), 'multi-user.target');
    if (template) assert.match(get(u, 'Service', 'SyslogIdentifier'), /%i/, `${name}: instances log under their own name`);
  }
});

test('systemd-analyze verify accepts both units (and reports a misspelt key in a copy)', (t) => {
  if (!requireBinaries(t, SYSTEMD_ANALYZE)) return;
  const dir = tempDir('systemd');
  try {
    // verify checks that ExecStart's program exists: point it at this node where /usr/bin/node is absent.
    const node = existsSync('/usr/bin/node') ? '/usr/bin/node' : process.execPath;
    if (node !== '/usr/bin/node') t.diagnostic(`no /usr/bin/node here: verifying with ExecStart=${node}`);
    for (const name of UNITS) writeFileSync(join(dir, name), read(name).replaceAll('/usr/bin/node ', `${node} `));
    writeFileSync(join(dir, 'typo.service'), read(UNITS[0]).replace('KillSignal=', 'KilSignal='));
    const verify = (name: string): { code: number | null; output: string } => {
      const r = spawnSync(SYSTEMD_ANALYZE, ['verify', join(dir, name)], { encoding: 'utf8', timeout: 30_000, cwd: dir });
      return { code: r.status, output: `${r.stdout}${r.stderr}`.trim() };
    };
    for (const name of UNITS) {
      const r = verify(name);
      assert.equal(r.code, 0, `${name}: ${r.output}`);
      assert.equal(r.output, '', `${name}: no warnings`);
    }
    assert.match(verify('typo.service').output, /Unknown key 'KilSignal'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
