/**
 * deploy/Dockerfile without a Docker engine: its build stage runs exactly the README's build
 * steps ("Build from source"), and running those steps on exactly the files it copies, then the
 * runtime stage's command on exactly what it copies from the build stage, works (npm from its
 * cache, offline; this is what `docker build` would do). Also: non-root, state volume, entrypoint.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT, tempDir } from '../e2e/harness.js';
import { DEPLOY } from './files.js';
import { parseConfig } from '../../src/config/load.js';

interface Stage {
  from: string;
  name?: string;
  workdir: string;
  /** [instruction, arguments] in order, continuation lines joined. */
  steps: [string, string][];
}

function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const line of logical) {
    const [, op, rest] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    assert.ok(op, `Dockerfile line: ${line}`);
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest)!;
      stages.push({ from: m[1], name: m[2], workdir: '/', steps: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    assert.ok(stage, 'FROM first');
    if (op === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, rest);
    stage.steps.push([op, rest]);
  }
  return stages;
}

/** The README's "Build from source" commands, comments dropped. */
function readmeBuild(): { build: string[]; run: string } {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('### Build from source');
  assert.ok(at >= 0, 'README has a "Build from source" section');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  assert.ok(block, 'with a sh block');
  const lines = block[1]
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '');
  const run = lines.filter((l) => l.startsWith('node dist/'));
  assert.equal(run.length, 1, 'one `node dist/...` line: how to run it');
  return { build: lines.filter((l) => !l.startsWith('node dist/')), run: run[0] };
}

const stages = parseDockerfile(readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8'));
const [build, runtime] = [stages[0], stages[stages.length - 1]];
const runs = (s: Stage): string[] => s.steps.filter(([op]) => op === 'RUN').map(([, a]) => a);
const execForm = (s: Stage, op: string): string[] => JSON.parse(s.steps.find(([o]) => o === op)?.[1] ?? '[]') as string[];

test("the Dockerfile is multi-stage, its build stage runs the README's build steps, its runtime stage runs the README's command as a non-root user with the state directory as a volume", () => {
  assert.ok(stages.length >= 2 && build.name, 'a named build stage and a runtime stage');
  const readme = readmeBuild();
  assert.deepEqual(runs(build), readme.build, "build stage RUN lines = README's build steps");
  const entry = [...execForm(runtime, 'ENTRYPOINT'), ...execForm(runtime, 'CMD')];
  assert.equal(entry.join(' '), readme.run, "ENTRYPOINT + CMD = README's run command");
  const user = runtime.steps.filter(([op]) => op === 'USER').pop()?.[1];
  assert.ok(user && !['root', '0'].includes(user), `runs as ${user}, not root`);
  assert.ok(
    runtime.steps.some(([op, a]) => op === 'VOLUME' && a.split(/\s+/).includes('/var/lib/anomstream')),
    'VOLUME /var/lib/anomstream',
  );
  assert.ok(
    runtime.steps.every(([op, a]) => op !== 'COPY' || a.startsWith(`--from=${build.name} `)),
    'the runtime stage copies only from the build stage',
  );
});

test('a config without state: keeps its model state in the volume: the default state.path under the runtime WORKDIR links to /var/lib/anomstream, which the user owns', () => {
  const state = parseConfig({ reader: { queries: { q: 'up' } }, writer: { datasource_url: 'http://vm:8428' } }).state.path;
  const where = posix.resolve(runtime.workdir, state);
  const run = runs(runtime).join(' && ');
  assert.ok(run.includes(`ln -s /var/lib/anomstream ${where}`), `${where} (the default state.path '${state}' in WORKDIR ${runtime.workdir}) is a link to the volume: ${run}`);
  assert.ok(run.includes('chown node:node /var/lib/anomstream'), 'the volume belongs to the user the process runs as');
});

test("the build steps succeed on exactly the files the build stage copies, and the runtime stage's files run (npm offline, from its cache)", { timeout: 180_000 }, (t) => {
  const dir = tempDir('docker');
  const sh = (cwd: string, cmd: string[]): void => {
    const r = spawnSync(cmd[0], cmd.slice(1), {
      cwd,
      encoding: 'utf8',
      timeout: 150_000,
      env: { ...process.env, npm_config_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
    });
    assert.equal(r.status, 0, `${cmd.join(' ')} in ${cwd}:\n${r.stdout}${r.stderr}`);
  };
  try {
    // Build stage: its COPY lines (context = repository root), then its RUN lines.
    const buildRoot = join(dir, 'build');
    const inBuild = (p: string): string => join(buildRoot, posix.resolve(build.workdir, p));
    for (const [op, args] of build.steps) {
      if (op === 'COPY') {
        const parts = args.split(/\s+/);
        const dest = parts.pop()!;
        for (const src of parts) {
          const to = dest.endsWith('/') ? join(inBuild(dest), posix.basename(src)) : inBuild(dest);
          mkdirSync(dirname(to), { recursive: true });
          cpSync(join(REPO_ROOT, src), to, { recursive: true });
        }
      }
      if (op === 'RUN') sh(inBuild('.'), ['sh', '-c', args]);
    }
    assert.ok(existsSync(inBuild('dist/src/cli.js')), 'the build produced dist/src/cli.js');
    assert.ok(!existsSync(inBuild('node_modules/typescript')), 'npm prune --omit=dev dropped the compiler');
    // Runtime stage: its COPY --from lines, then its command with a real config.
    const runRoot = join(dir, 'runtime');
    for (const [op, args] of runtime.steps) {
      if (op !== 'COPY') continue;
      const [, src, dest] = args.split(/\s+/);
      const to = join(runRoot, posix.resolve(runtime.workdir, dest), dest.endsWith('/') ? posix.basename(src) : '');
      mkdirSync(dirname(to), { recursive: true });
      cpSync(join(buildRoot, src), to, { recursive: true });
    }
    const [bin, ...args] = execForm(runtime, 'ENTRYPOINT');
    assert.equal(bin, 'node');
    const cwd = join(runRoot, runtime.workdir);
    sh(cwd, [process.execPath, ...args, '--check-config', join(DEPLOY, 'anomstream.yml')]);
    const version = spawnSync(process.execPath, [...args, '--version'], { cwd, encoding: 'utf8' });
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
    t.diagnostic(`built and ran in ${dir}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
