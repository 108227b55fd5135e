import assert from 'node:assert/strict';
import { test } from 'node:test';
import snappy from 'snappyjs';
import { SnappyWriter } from '../../src/wire/snappy-writer.js';
import { compactChunk } from '../../src/emit/chunks.js';

test('compactChunk: shorter literal and copy headers, the same uncompressed bytes, marked positions moved along', () => {
  const w = new SnappyWriter();
  const lit = (n: number, seed: number): number => {
    w.literal(n);
    const at = w.pos;
    for (let i = 0; i < n; i++) w.out[w.pos + i] = (seed + i * 7) & 0xff;
    w.advance(w.pos + n);
    return at;
  };
  // Literals of every header size (1..60: 1 byte, 61..256: 2, longer: 3), copies of 4-11 bytes near and far, long copies.
  lit(3000, 1);
  w.copy(100, 7);
  const a = lit(11, 2) + 3; // a position inside a short literal
  w.copy(250, 64 + 5);
  const b = lit(200, 3) + 150;
  w.copy(3000, 8); // too far for a 2-byte copy: left as is
  lit(60, 4);
  w.copy(10, 3);
  const c = lit(61, 5);
  w.seal();
  const start = 5;
  const end = w.pos;
  const before = w.out.slice(start, end);
  const offs = Int32Array.from([a, b, c, -1]);
  const vals = [w.out[a], w.out[b], w.out[c]];
  const n = compactChunk(w.out, start, end, offs, 4);
  // Saved: 7@100 and 5@250 1 byte each, literals of 11 and 60 bytes 2 each, of 200 and 61 bytes 1 each.
  assert.equal(end - n, 8);
  assert.deepEqual([w.out[offs[0]], w.out[offs[1]], w.out[offs[2]]], vals);
  assert.equal(offs[3], -1);
  // Both decode to the same bytes (a block needs its length header: the uncompressed length).
  const hdr = (len: number): number[] => (len < 128 ? [len] : [(len & 0x7f) | 0x80, len >>> 7]);
  const raw = w.raw;
  const dec = (els: Uint8Array): Uint8Array => snappy.uncompress(Uint8Array.from([...hdr(raw), ...els]));
  const want = dec(before);
  assert.equal(want.length, raw);
  assert.deepEqual(dec(w.out.subarray(start, n)), want);
});
