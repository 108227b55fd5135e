// src/wire/snappy.ts moves short literals and copies 8 bytes at a time through float64
// (DataView getFloat64/setFloat64). JavaScript may canonicalise a NaN it holds, so every NaN
// bit pattern (signalling, quiet with a payload, negative, Prometheus' stale marker, V8's hole)
// must come out byte-exactly, at every alignment, in every tier of the JIT (the loop runs the
// blocks often enough for V8 to optimise decompress()).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SnappyReader } from '../../src/wire/snappy.js';

/** Bit patterns as [high 32, low 32]. */
const PATTERNS: [number, number][] = [
  [0x7ff00000, 0x00000001], // signalling NaN, smallest payload
  [0x7ff40000, 0x00000000], // signalling NaN
  [0xfff00000, 0x00000001], // negative signalling NaN
  [0x7ff7ffff, 0xffffffff], // largest signalling NaN
  [0x7ff00000, 0x00000002], // Prometheus' stale marker (a signalling NaN)
  [0x7ff80000, 0x00000001], // quiet NaN with a payload
  [0x7fffffff, 0xffffffff], // quiet NaN, every payload bit
  [0xffffffff, 0xffffffff], // negative quiet NaN, every bit
  [0xfff7ffff, 0xfff7ffff], // V8's hole NaN
  [0x7ff7ffff, 0xfff7ffff],
  [0x80000000, 0x00000000], // -0
  [0x00000000, 0x00000001], // smallest subnormal
  [0x7ff00000, 0x00000000], // +Infinity
];

/** Raw bytes: `shift` filler bytes, then every pattern little-endian, then the same big-endian. */
function raw(shift: number): Uint8Array {
  const b = new Uint8Array(shift + PATTERNS.length * 16);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < shift; i++) b[i] = 0x41 + i;
  PATTERNS.forEach(([hi, lo], k) => {
    dv.setUint32(shift + 8 * k, lo, true);
    dv.setUint32(shift + 8 * k + 4, hi, true);
    dv.setUint32(shift + 8 * (PATTERNS.length + k), hi);
    dv.setUint32(shift + 8 * (PATTERNS.length + k) + 4, lo);
  });
  return b;
}

/**
 * A block whose output is `r` three times: first as literals of 1..16 bytes (the short-literal
 * path), then as copies of 4..16 bytes at distance r.length (>= 8), then as copies at distance
 * r.length + 8, and a 60-byte tail literal so every element before it lies in the 8-byte paths'
 * range. Returns the block and its expected output.
 */
function block(r: Uint8Array): { src: Uint8Array; want: Uint8Array } {
  const out: number[] = [];
  const want: number[] = [];
  const literal = (bytes: ArrayLike<number>): void => {
    out.push((bytes.length - 1) << 2, ...Array.from(bytes));
    want.push(...Array.from(bytes));
  };
  const copy = (len: number, off: number): void => {
    out.push(((len - 1) << 2) | 2, off & 0xff, off >>> 8);
    for (let i = 0; i < len; i++) want.push(want[want.length - off]);
  };
  for (let i = 0, len = 1; i < r.length; i += len, len = (len % 16) + 1) literal(r.subarray(i, Math.min(r.length, i + len)));
  for (let i = 0, len = 4; i < r.length; i += len, len = len === 16 ? 4 : len + 1) copy(Math.min(len, r.length - i), r.length);
  literal(new Uint8Array(8).fill(0x5a));
  for (let i = 0, len = 9; i < r.length; i += len, len = len === 16 ? 4 : len + 1) copy(Math.min(len, r.length - i), r.length + 8);
  literal(new Uint8Array(60).fill(0x2e));
  const header: number[] = [];
  for (let n = want.length; ; n >>>= 7) {
    if (n < 0x80) {
      header.push(n);
      break;
    }
    header.push((n & 0x7f) | 0x80);
  }
  return { src: Uint8Array.from([...header, ...out]), want: Uint8Array.from(want) };
}

test('snappy decompression moves NaN bit patterns (signalling, payload, stale marker, hole) byte-exactly', () => {
  const blocks = Array.from({ length: 8 }, (_, shift) => block(raw(shift)));
  const reader = new SnappyReader();
  for (let round = 0; round < 3000; round++) {
    for (const { src, want } of blocks) {
      const got = reader.decompress(src, 1 << 20);
      if (round % 500 === 0 || round === 2999) assert.deepEqual(Buffer.from(got), Buffer.from(want));
      else if (Buffer.compare(got, want) !== 0) assert.deepEqual(Buffer.from(got), Buffer.from(want));
    }
  }
});
