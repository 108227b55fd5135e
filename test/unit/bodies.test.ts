// Request-body buffers kept for reuse (src/receive/bodies.ts): reused, always counted in the
// memory budget, and dropped before a request would be refused for want of room.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBudget } from '../../src/ingest/budget.js';
import { BodyBuffers } from '../../src/receive/bodies.js';

test('a released body buffer is handed to the next body that fits, and stays counted in the budget', () => {
  const memory = new MemoryBudget(1 << 20);
  const bodies = new BodyBuffers(memory);
  const a = bodies.take(40_000)!;
  assert.equal(a.length, 65_536, 'sizes are rounded up to 64 KiB');
  assert.equal(memory.used, 65_536);
  bodies.release(a.subarray(0, 40_000)); // what the receiver hands on: a view of the body
  assert.equal(memory.used, 65_536, 'a kept buffer is still counted');
  assert.equal(bodies.keptBytes, 65_536);
  const b = bodies.take(50_000)!;
  assert.equal(b.buffer, a.buffer, 'the kept buffer is reused');
  assert.equal(memory.used, 65_536);
  assert.equal(bodies.keptBytes, 0);
  const c = bodies.take(100_000)!;
  assert.notEqual(c.buffer, a.buffer, 'a larger body gets a new buffer');
  assert.equal(memory.used, 65_536 + 131_072);
  bodies.release(b);
  bodies.release(c);
  const d = bodies.take(10)!;
  assert.equal(d.buffer, c.buffer, 'the most recently released buffer first');
});

test('buffers above 1 MiB, past 16 kept, and past 4 MiB kept in all go back to the budget at once', () => {
  const memory = new MemoryBudget(64 << 20);
  const bodies = new BodyBuffers(memory);
  const big = bodies.take(2 << 20)!;
  bodies.release(big);
  assert.equal(memory.used, 0);
  const many = Array.from({ length: 20 }, () => bodies.take(1000)!);
  for (const m of many) bodies.release(m);
  assert.equal(bodies.keptBytes, 16 * 65_536);
  assert.equal(memory.used, 16 * 65_536);
  bodies.dropKept();
  const mb = Array.from({ length: 5 }, () => bodies.take(1 << 20)!);
  for (const m of mb) bodies.release(m);
  assert.equal(bodies.keptBytes, 4 << 20, 'four 1 MiB buffers kept, the fifth given back');
  assert.equal(memory.used, 4 << 20);
});

test('no room in the budget: the kept buffers are dropped first; null only when even that is not enough', () => {
  const memory = new MemoryBudget(4 * 65_536);
  const bodies = new BodyBuffers(memory);
  const kept = [bodies.take(1)!, bodies.take(1)!, bodies.take(1)!];
  for (const k of kept) bodies.release(k);
  assert.equal(memory.used, 3 * 65_536);
  const big = bodies.take(4 * 65_536);
  assert.ok(big !== null, 'the kept buffers made room');
  assert.equal(bodies.keptBytes, 0);
  assert.equal(memory.used, 4 * 65_536);
  assert.equal(bodies.take(1), null, 'the budget is full');
  bodies.release(big);
  assert.equal(bodies.keptBytes, 4 * 65_536, 'a 256 KiB buffer is kept');
  bodies.dropKept();
  assert.equal(memory.used, 0);
});
