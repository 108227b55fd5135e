/**
 * `anomstream --check-config FILE...` as a test sees it: the outcome of each file, and the
 * judgement every rejected config must pass (issue 18): each line names a config path (or a
 * file:line:column for YAML syntax) and says what to write instead, and no line is a bare
 * phrase of the validation library.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { CLI } from './harness.js';

/** Phrases of the validation library that must never reach a user. */
export const BARE = /Invalid input|Invalid option|Invalid (string|URL|discriminator|key)|expected \w+, received \w+|Unrecognized key|Too (small|big):|Required$/;
/** A problem line says what to write instead. */
export const INSTEAD = /expected|write |use |remove|set it|did you mean|give (the|its|it)|pass |choose|point |add the| instead/i;

export interface Outcome {
  valid: boolean;
  /** Problem lines (without the `anomstream: FILE: N problems:` header). */
  lines: string[];
}

/** One `anomstream --check-config FILE...` run (stdout and stderr apart); the outcome of each file. */
export function checkAll(files: string[], env: NodeJS.ProcessEnv = process.env): Map<string, Outcome> {
  const r = spawnSync(process.execPath, [CLI, '--check-config', ...files], { encoding: 'utf8', env, timeout: 120_000, maxBuffer: 64 << 20 });
  assert.ok(r.status === 0 || r.status === 2, `exit ${r.status}: ${r.stderr}`);
  const out = new Map<string, Outcome>();
  for (const l of r.stdout.split('\n')) {
    const m = /^(.+?): valid \(/.exec(l);
    if (m) out.set(m[1], { valid: true, lines: [] });
  }
  let cur: Outcome | undefined;
  for (const l of r.stderr.split('\n')) {
    const h = /^anomstream: (.+?): (\d+) problems?:$/.exec(l);
    if (h) out.set(h[1], (cur = { valid: false, lines: [] }));
    else if (l !== '') {
      assert.ok(cur, `a line outside a file's section: ${l}`);
      cur.lines.push(l);
    }
  }
  for (const f of files) assert.ok(out.has(f), `no outcome for ${f}:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.status, [...out.values()].every((o) => o.valid) ? 0 : 2, 'exit code: 0 when every file is valid, else 2');
  return out;
}

/** Each line: a config path (or file:line:column) and what to write instead; no library phrase. */
export function judge(where: string, o: Outcome): void {
  if (o.valid) return;
  assert.ok(o.lines.length > 0, `${where}: invalid without a reason`);
  for (const l of o.lines) {
    assert.doesNotMatch(l, BARE, `${where}: ${l}`);
    const m = /^(\S+?): (.+)$/.exec(l);
    assert.ok(m, `${where}: not 'path: message': ${l}`);
    const [, path, message] = m;
    assert.ok(/^(\(root\)|[^\s:]+(\.[^\s.]+|\[\d+\])*|\S+:\d+:\d+)$/.test(path), `${where}: no config path in: ${l}`);
    if (!/not valid YAML/.test(message)) assert.match(message, INSTEAD, `${where}: does not say what to write instead: ${l}`);
  }
}
