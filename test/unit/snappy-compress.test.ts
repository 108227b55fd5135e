// src/wire/snappy-compress.ts: round trips through our decompressor and snappyjs (the oracle) on
// random and realistic inputs, every literal and copy length class, and 64 KiB block boundaries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import snappy from 'snappyjs';
import { buildPool, materialize } from '../../bench/load/pool.js';
import { SnappyReader as Snappy } from '../../src/wire/snappy.js';
import { maxCompressedLength, SnappyCompressor } from '../../src/wire/snappy-compress.js';

let seed = 42;
function rand(n: number): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return (seed >>> 8) % n;
}
function random(len: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = rand(256);
  return b;
}
/** Text-like: words from a small alphabet, so matches of every length and distance occur. */
function wordy(len: number, alphabet: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = rand(8) === 0 ? 32 : 97 + rand(alphabet);
  return b;
}
function writeRequest(series: number): Uint8Array {
  const pool = buildPool({ series, samplesPerSeries: 1, samplesPerRequest: series, intervalMs: 15_000, nowMs: Date.now() });
  return new Snappy().decompress(materialize(pool, 0), 1 << 28).slice();
}

/** Counts the element classes of a snappy block (literal tag sizes 1/2/3, copy1, copy2, copy4). */
function classes(block: Uint8Array): Record<string, number> {
  const c: Record<string, number> = { lit1: 0, lit2: 0, lit3: 0, copy1: 0, copy2: 0, copy2long: 0, copy4: 0 };
  let s = 0;
  while (block[s++] >= 0x80);
  while (s < block.length) {
    const tag = block[s++];
    switch (tag & 3) {
      case 0: {
        let len = tag >>> 2;
        if (len < 60) c.lit1++;
        else if (len === 60) {
          c.lit2++;
          len = block[s++];
        } else {
          c.lit3++;
          len = block[s] | (block[s + 1] << 8);
          s += 2;
        }
        s += len + 1;
        break;
      }
      case 1:
        c.copy1++;
        s++;
        break;
      case 2:
        if (tag >>> 2 >= 59) c.copy2long++;
        else c.copy2++;
        s += 2;
        break;
      default:
        c.copy4++;
        s += 4;
    }
  }
  return c;
}

const compressor = new SnappyCompressor();
const ours = new Snappy();

function roundTrip(input: Uint8Array, what: string): Uint8Array {
  const block = compressor.compress(input);
  assert.ok(block.length <= maxCompressedLength(input.length), `${what}: ${block.length} > bound`);
  assert.deepEqual(Buffer.from(ours.decompress(block, 1 << 30)), Buffer.from(input), `${what}: our decompressor`);
  assert.deepEqual(Buffer.from(snappy.uncompress(block)), Buffer.from(input), `${what}: snappyjs`);
  return block;
}

test('every length 0..600 of random, constant, periodic and wordy input round-trips', () => {
  for (let len = 0; len <= 600; len++) {
    roundTrip(random(len), `random ${len}`);
    roundTrip(new Uint8Array(len).fill(len & 0xff), `constant ${len}`);
    roundTrip(
      Uint8Array.from({ length: len }, (_, i) => i % 7),
      `period 7, ${len}`,
    );
    roundTrip(wordy(len, 4), `wordy ${len}`);
  }
});

test('64 KiB block boundaries and large inputs round-trip', () => {
  for (const len of [65535, 65536, 65537, 65536 + 16, 131071, 131072, 131073, 1_000_003]) {
    roundTrip(random(len), `random ${len}`);
    roundTrip(new Uint8Array(len), `zeros ${len}`);
    roundTrip(wordy(len, 6), `wordy ${len}`);
  }
});

test('every element class is emitted and read back by both decompressors', () => {
  const total: Record<string, number> = {};
  const inputs = [
    wordy(200_000, 3), // short matches near and far: copy1, copy2
    random(70_000), // literals longer than 256: 3-byte literal tags
    Uint8Array.from({ length: 50_000 }, (_, i) => (i % 300 < 100 ? rand(256) : 7)), // literals 61..256, long runs
    // Matches of 65, 66, 67 and 68+ bytes (cut as 60 + rest or 64s + rest).
    ...[65, 66, 67, 68, 130].map((m) => {
      const head = random(m + 10);
      const b = new Uint8Array(4000);
      b.set(head, 0);
      b.set(random(500), head.length);
      b.set(head.subarray(0, m), head.length + 500);
      b.set(random(4000 - head.length - 500 - m), head.length + 500 + m);
      return b;
    }),
    writeRequest(2000),
  ];
  for (const [i, input] of inputs.entries()) {
    const block = roundTrip(input, `input ${i}`);
    for (const [k, v] of Object.entries(classes(block))) total[k] = (total[k] ?? 0) + v;
  }
  for (const k of ['lit1', 'lit2', 'lit3', 'copy1', 'copy2', 'copy2long']) assert.ok(total[k] > 0, `${k}: ${JSON.stringify(total)}`);
  // Like Go's snappy: offsets stay inside a 64 KiB block, so no 4-byte-offset copies.
  assert.equal(total.copy4, 0);
});

test('realistic remote write bodies: same size as snappyjs within 0.5%, and decode as the original', () => {
  for (const series of [1, 60, 2000, 20_000]) {
    const raw = writeRequest(series);
    const block = roundTrip(raw, `${series} series`);
    const reference = snappy.compress(raw).length;
    assert.ok(Math.abs(block.length - reference) <= reference * 0.005 + 8, `${series} series: ${block.length} vs snappyjs ${reference}`);
  }
});

test('compressView reuses one buffer; compress returns an independent copy', () => {
  const c = new SnappyCompressor();
  const a = wordy(5000, 5);
  const b = random(3000);
  const copy = c.compress(a);
  const view = c.compressView(a);
  assert.deepEqual(Buffer.from(view), Buffer.from(copy));
  const viewB = c.compressView(b);
  assert.equal(view.buffer, viewB.buffer, 'one buffer for both views');
  assert.deepEqual(Buffer.from(ours.decompress(copy, 1 << 20)), Buffer.from(a), 'the copy survives the next call');
  assert.deepEqual(Buffer.from(ours.decompress(viewB, 1 << 20)), Buffer.from(b));
});
