import assert from 'node:assert/strict';
import { test } from 'node:test';
import { varintLen, writeVarint } from '../../src/wire/varint.js';

/** The varint of n by BigInt arithmetic, the reference. */
function reference(n: number): number[] {
  const out: number[] = [];
  let x = BigInt(n);
  while (x >= 128n) {
    out.push(Number(x & 127n) | 128);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
}

test('writeVarint and varintLen: every length up to 2^53, timestamps included', () => {
  const b = new Uint8Array(16);
  const ns = [0, 1, 127, 128, 2 ** 28 - 1, 2 ** 28, 2 ** 28 + 1, 2 ** 35 - 1, 2 ** 35, 2 ** 42 - 1, 2 ** 42, 1_790_000_000_123, 2 ** 49 + 12_345, 2 ** 53 - 1];
  for (let i = 0; i < 2000; i++) ns.push(Math.floor(((i * 2654435761) % 4294967296) * 2 ** (i % 22)));
  for (const n of ns) {
    const end = writeVarint(b, 3, n);
    assert.deepEqual([...b.subarray(3, end)], reference(n), `varint of ${n}`);
    assert.equal(varintLen(n), end - 3);
  }
});
