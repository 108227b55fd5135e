// The pool's requests as zstd bodies (VictoriaMetrics' remote write protocol), compressed by the real
// `zstd` command-line tool as vmagent compresses on linux/amd64 (gozstd level 0 = zstd level 3, no
// checksum, Frame_Content_Size written): built before the run, untimed, like the pool itself. The
// decoded WriteRequests go through files in a temp dir, `CHUNK` at a time, one `zstd` call per chunk.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SnappyReader } from '../../src/wire/snappy.js';
import { materialize, type Pool } from './pool.js';

const CHUNK = 256;
const ZSTD_BIN = process.env.ZSTD_BIN ?? 'zstd';

/** Requests 0 .. count-1 of `pool`, each zstd-compressed at level 3 by the CLI. */
export function zstdBodies(pool: Pool, count: number): Buffer[] {
  const snappy = new SnappyReader();
  const dir = mkdtempSync(path.join(tmpdir(), 'anomstream-zstd-bodies-'));
  const out: Buffer[] = [];
  try {
    for (let first = 0; first < count; first += CHUNK) {
      const files: string[] = [];
      for (let i = first; i < Math.min(count, first + CHUNK); i++) {
        const f = path.join(dir, String(i));
        writeFileSync(f, snappy.decompress(materialize(pool, i), 1 << 30));
        files.push(f);
      }
      const r = spawnSync(ZSTD_BIN, ['-q', '-f', '-3', '--no-check', '--rm', ...files], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${ZSTD_BIN}: ${r.error ?? r.stderr}`);
      for (const f of files) {
        out.push(readFileSync(`${f}.zst`));
        rmSync(`${f}.zst`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
