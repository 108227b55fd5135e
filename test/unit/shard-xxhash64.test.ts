// XXH64 without BigInt (src/wire/xxhash64.ts): cespare/xxhash's published test vectors (the library
// VictoriaMetrics hashes with), and a BigInt transcription of the specification as the oracle on random input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { U64, fastHashUint64, xxh64 } from '../../src/wire/xxhash64.js';

const M = (1n << 64n) - 1n;
const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n, P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n; // prettier-ignore
const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
const rnd = (acc: bigint, x: bigint): bigint => (rotl((acc + x * P2) & M, 31n) * P1) & M;
const le = (b: Uint8Array, i: number, n: number): bigint => {
  let v = 0n;
  for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(b[i + k]);
  return v;
};

/** XXH64 straight from the specification, in BigInt. */
function reference(b: Uint8Array, seed = 0n): bigint {
  let p = 0;
  let h: bigint;
  if (b.length >= 32) {
    const v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M];
    for (; p + 32 <= b.length; p += 32) for (let k = 0; k < 4; k++) v[k] = rnd(v[k], le(b, p + 8 * k, 8));
    h = (rotl(v[0], 1n) + rotl(v[1], 7n) + rotl(v[2], 12n) + rotl(v[3], 18n)) & M;
    for (const x of v) h = ((((h ^ rnd(0n, x)) * P1) & M) + P4) & M;
  } else h = (seed + P5) & M;
  h = (h + BigInt(b.length)) & M;
  for (; p + 8 <= b.length; p += 8) h = (((rotl(h ^ rnd(0n, le(b, p, 8)), 27n) * P1) & M) + P4) & M;
  if (p + 4 <= b.length) {
    h = (((rotl(h ^ ((le(b, p, 4) * P1) & M), 23n) * P2) & M) + P3) & M;
    p += 4;
  }
  for (; p < b.length; p++) h = (rotl(h ^ ((BigInt(b[p]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  return h ^ (h >> 32n);
}

const enc = new TextEncoder();
const hex = (x: bigint): string => x.toString(16).padStart(16, '0');

test('xxh64: cespare/xxhash v2 test vectors (xxhash_test.go TestAll)', () => {
  const s63 = 'Call me Ishmael. Some years ago--never mind how long precisely-';
  const cases: Array<[string, bigint, string]> = [
    ['', 0n, 'ef46db3751d8e999'],
    ['a', 0n, 'd24ec4f1a98c6e5b'],
    ['as', 0n, '1c330fb2d66be179'],
    ['asd', 0n, '631c37ce72a97393'],
    ['asdf', 0n, '415872f599cea71e'],
    [s63, 0n, '02a2e85470d6fd96'],
    ['', 123n, 'e0db84de91f3e198'],
    ['asdf', M, '9a2fd8473be539b6'],
    [s63, 54321n, '1736d186daf5d1cd'],
  ];
  const out = new U64();
  for (const [s, seed, want] of cases) {
    const b = enc.encode(s);
    xxh64(b, 0, b.length, out, Number(seed >> 32n), Number(seed & 0xffffffffn));
    assert.equal(out.toHex(), want, `xxh64(${JSON.stringify(s)}, seed ${seed})`);
    assert.equal(hex(reference(b, seed)), want, 'the BigInt oracle agrees with the vectors');
  }
});

test('xxh64: equals the BigInt specification on random bytes of every length 0..200, at any offset', () => {
  let x = 12345;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
  const buf = new Uint8Array(260);
  const out = new U64();
  for (let len = 0; len <= 200; len++) {
    for (let rep = 0; rep < 3; rep++) {
      for (let i = 0; i < buf.length; i++) buf[i] = next();
      const off = rep * 7;
      xxh64(buf, off, off + len, out);
      assert.equal(out.toHex(), hex(reference(buf.subarray(off, off + len))), `len ${len} offset ${off}`);
    }
  }
});

test('U64.mod: exact for moduli up to 2^32', () => {
  const v = new U64();
  for (const [hi, lo] of [
    [0xffffffff, 0xffffffff],
    [0x9e3779b1, 0x85ebca87],
    [0, 5],
    [1, 0],
  ]) {
    v.hi = hi;
    v.lo = lo;
    const big = (BigInt(hi) << 32n) | BigInt(lo);
    for (const m of [1, 2, 3, 4, 7, 1000, 65537, 2 ** 31 - 1, 2 ** 32]) assert.equal(v.mod(m), Number(big % BigInt(m)), `${hi}:${lo} mod ${m}`);
  }
});

test('fastHashUint64: xorshift then multiply by 2685821657736338717, as lib/consistenthash', () => {
  const out = new U64();
  for (const x of [0n, 1n, 0xdeadbeefcafebaben, M, 0x8000000000000000n]) {
    let y = x ^ (x >> 12n);
    y = (y ^ (y << 25n)) & M;
    y ^= y >> 27n;
    y = (y * 2685821657736338717n) & M;
    fastHashUint64(Number(x >> 32n), Number(x & 0xffffffffn), out);
    assert.equal(out.toHex(), hex(y), hex(x));
  }
});
