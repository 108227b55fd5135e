// The raw forward's coalescing of snappy bodies (src/ingest/coalesce.ts): bodies waiting while
// RAW_POSTS_IN_FLIGHT POSTs are in flight go as one POST (a valid snappy block and WriteRequest
// holding every request's series and metadata, in order, read back by snappyjs + protobufjs), a
// refused merged POST is re-sent body by body, memory is taken from the budget.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PostResult } from '../../src/forward/downstream.js';
import { MemoryBudget } from '../../src/ingest/budget.js';
import { MERGE_BYTES, RawCoalescer } from '../../src/ingest/coalesce.js';
import { SnappyCompressor } from '../../src/wire/snappy-compress.js';
import { snappyDecodedLength } from '../../src/wire/snappy.js';
import { decodeWriteRequest, encodeWriteRequest } from '../e2e/harness.js';

/** The in-flight limit these tests run with (the default, RAW_POSTS_IN_FLIGHT, is 1: two show more of the mechanism). */
const RAW_POSTS_IN_FLIGHT = 2;

const OK: PostResult = { status: 204, outcome: 'accepted', reason: '' };

/** A snappy WriteRequest from request `r`: `n` series (job r, series i) and one metadata entry. */
function body(r: number, n = 3): Uint8Array {
  const series = Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'm', job: `r${r}`, i: String(i) }, timestamps: [1_700_000_000_000 + r], values: [r * 1000 + i] }));
  return new SnappyCompressor().compress(encodeWriteRequest(series, 0, Infinity, [{ type: 'GAUGE', metricFamilyName: `m${r}`, help: `request ${r}`, unit: '' } as never]));
}

/** Series of a body as "job/i" strings, and its metadata names. */
function contents(b: Uint8Array): { series: string[]; metadata: string[] } {
  const w = decodeWriteRequest(b);
  return {
    series: (w.timeseries ?? []).map((s) => {
      const l = Object.fromEntries((s.labels ?? []).map((x) => [x.name, x.value]));
      return `${l.job}/${l.i}`;
    }),
    metadata: (w.metadata ?? []).map((m) => (m as { metricFamilyName: string }).metricFamilyName),
  };
}

/** A datasource the test answers by hand: every POST waits until answer() is called for it. */
class Fake {
  readonly posts: { path: string; body: Uint8Array; answer(r: PostResult): void }[] = [];
  auto: ((body: Uint8Array) => PostResult) | null = null;
  readonly send = (path: string, body: Uint8Array): Promise<PostResult> => {
    const copy = body.slice(); // the merge buffer is reused once the POST is answered
    if (this.auto) return Promise.resolve(this.auto(copy));
    return new Promise((resolve) => this.posts.push({ path, body: copy, answer: resolve }));
  };
}

function coalescer(fake: Fake, memory = new MemoryBudget(1 << 30), maxBytes = 32 << 20) {
  const counts = { merged: 0, split: 0 };
  const c = new RawCoalescer(fake.send, { memory, maxBytes: () => maxBytes }, { merged: { inc: (n = 1) => (counts.merged += n) }, split: { inc: (n = 1) => (counts.split += n) } }, RAW_POSTS_IN_FLIGHT);
  return { c, counts, memory };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('below RAW_POSTS_IN_FLIGHT a body goes at once, byte for byte; the bodies waiting meanwhile go as one POST holding every series and metadata once, in order', async () => {
  const fake = new Fake();
  const { c, counts, memory } = coalescer(fake);
  const bodies = Array.from({ length: 7 }, (_, r) => body(r, 2 + r));
  const results = bodies.map((b) => c.post('/api/v1/write', b));
  await tick();
  assert.equal(fake.posts.length, RAW_POSTS_IN_FLIGHT, 'the first ones went at once');
  for (let i = 0; i < RAW_POSTS_IN_FLIGHT; i++) assert.deepEqual(fake.posts[i].body, bodies[i], 'as it came');
  fake.posts[0].answer(OK);
  await tick();
  assert.equal(fake.posts.length, RAW_POSTS_IN_FLIGHT + 1, 'one POST for all the waiting ones');
  const merged = fake.posts[RAW_POSTS_IN_FLIGHT];
  const want = { series: [] as string[], metadata: [] as string[] };
  for (let r = RAW_POSTS_IN_FLIGHT; r < bodies.length; r++) {
    const one = contents(bodies[r]);
    want.series.push(...one.series);
    want.metadata.push(...one.metadata);
  }
  assert.equal(want.metadata.length, bodies.length - RAW_POSTS_IN_FLIGHT);
  assert.deepEqual(contents(merged.body), want, 'every series and metadata entry of every waiting request, once, in order');
  assert.equal(counts.merged, 0, 'counted when answered');
  merged.answer(OK);
  fake.posts[1].answer(OK);
  for (const r of await Promise.all(results)) assert.deepEqual(r, OK);
  assert.equal(counts.merged, bodies.length - RAW_POSTS_IN_FLIGHT);
  assert.ok(memory.used > 0 && memory.used <= 1 << 20, 'the merge buffer kept for reuse stays counted (small)');
});

test('a merged POST refused (400) is re-sent body by body: only the bad one gets 400; a retryable failure is every sender 503', async () => {
  const fake = new Fake();
  const { c, counts } = coalescer(fake);
  const bad = body(99);
  const hold = Array.from({ length: RAW_POSTS_IN_FLIGHT }, (_, r) => c.post('/api/v1/write', body(r)));
  await tick();
  const waiting = [body(10), bad, body(11)].map((b) => c.post('/api/v1/write', b));
  fake.auto = (b) => (contents(b).series.some((s) => s.startsWith('r99/')) ? { status: 400, outcome: 'rejected', reason: '400 from downstream: bad' } : OK);
  fake.posts[0].answer(OK);
  const got = await Promise.all(waiting);
  assert.deepEqual(
    got.map((r) => r.status),
    [204, 400, 204],
  );
  assert.equal(counts.split, 1);
  assert.equal(counts.merged, 3);
  fake.posts[1].answer(OK);
  await Promise.all(hold);

  // Retryable: every sender of the merged POST gets that answer (503), nothing re-sent.
  fake.auto = null;
  const n = fake.posts.length;
  const hold2 = Array.from({ length: RAW_POSTS_IN_FLIGHT }, (_, r) => c.post('/api/v1/write', body(r)));
  await tick();
  const waiting2 = [body(20), body(21)].map((b) => c.post('/api/v1/write', b));
  fake.posts[n].answer(OK);
  await tick();
  const down: PostResult = { status: 503, outcome: 'retryable', reason: '503 from downstream: busy' };
  fake.posts[n + RAW_POSTS_IN_FLIGHT].answer(down);
  assert.deepEqual(await Promise.all(waiting2), [down, down]);
  assert.equal(fake.posts.length, n + RAW_POSTS_IN_FLIGHT + 1, 'not split');
  fake.posts[n + 1].answer(OK);
  await Promise.all(hold2);
});

test('413 to a merged POST: re-sent body by body and the merge size halved', async () => {
  const fake = new Fake();
  const { c, counts } = coalescer(fake);
  const hold = Array.from({ length: RAW_POSTS_IN_FLIGHT }, (_, r) => c.post('/api/v1/write', body(r)));
  await tick();
  const waiting = [body(30, 200), body(31, 200), body(32, 200)].map((b) => c.post('/api/v1/write', b));
  fake.auto = (b) => (contents(b).series.length > 300 ? { status: 413, outcome: 'retryable', reason: '413 from downstream', setting: 'x' } : OK);
  fake.posts[0].answer(OK);
  assert.deepEqual(
    (await Promise.all(waiting)).map((r) => r.status),
    [204, 204, 204],
  );
  assert.equal(counts.split, 1);
  // From now on a merged POST holds at most half of the refused one (600 series): one body each.
  fake.auto = null;
  const extra = c.post('/api/v1/write', body(7)); // fills the second slot again
  await tick();
  const n = fake.posts.length;
  const w2 = [body(40, 200), body(41, 200), body(42, 200)].map((b) => c.post('/api/v1/write', b));
  await tick();
  fake.posts[1].answer(OK);
  await tick();
  // Two bodies make a full POST now (half the refused merge): each of the first two went at once
  // with one body, past the in-flight limit; the third waits for a free slot.
  assert.equal(fake.posts.length - n, 2);
  fake.posts[n].answer(OK);
  fake.posts[n + 1].answer(OK);
  await tick();
  const sent = fake.posts.slice(n);
  assert.equal(sent.length, 3);
  for (const p of sent) assert.equal(contents(p.body).series.length, 200, 'two bodies would pass half of the refused merge');
  sent[2].answer(OK);
  fake.posts[n - 1].answer(OK);
  await Promise.all([...w2, ...hold, extra]);
});

test('a full merged POST goes at once, past the in-flight limit (the limit gathers small bodies, it does not cap throughput)', async () => {
  const fake = new Fake();
  const one = snappyDecodedLength(body(50, 50));
  const { c } = coalescer(fake, undefined, Math.floor(one * 2.5)); // two bodies fit, not three
  const hold = Array.from({ length: RAW_POSTS_IN_FLIGHT }, (_, r) => c.post('/a', body(r)));
  await tick();
  const waiting = [50, 51, 52, 53].map((r) => c.post('/a', body(r, 50)));
  await tick();
  assert.equal(fake.posts.length, RAW_POSTS_IN_FLIGHT + 1, 'the third body filled a POST: the first two went with the limit in flight');
  assert.deepEqual([...new Set(contents(fake.posts[RAW_POSTS_IN_FLIGHT].body).series.map((x) => x.split('/')[0]))], ['r50', 'r51']);
  fake.auto = () => OK;
  for (const p of fake.posts) p.answer(OK);
  await Promise.all([...waiting, ...hold]);
});

test('different paths (tenants) never share a POST; server.max_request_bytes bounds a merge', async () => {
  const rec = new Fake();
  const one = snappyDecodedLength(body(50, 50));
  const { c } = coalescer(rec, undefined, Math.floor(one * 2.5)); // two bodies fit, not three
  const hold = Array.from({ length: RAW_POSTS_IN_FLIGHT }, (_, r) => c.post('/x', body(r)));
  await tick();
  const paths = ['/a', '/b', '/a', '/a', '/b', '/a'];
  const waiting = paths.map((p, r) => c.post(p, body(50 + r, 50)));
  rec.posts[0].answer(OK);
  rec.posts[1].answer(OK);
  const seen: string[][] = [];
  for (let i = RAW_POSTS_IN_FLIGHT; seen.length < 3; i++) {
    await tick();
    const p = rec.posts[i];
    seen.push([p.path, ...new Set(contents(p.body).series.map((s) => s.split('/')[0]))]);
    p.answer(OK);
  }
  await Promise.all([...waiting, ...hold]);
  assert.ok(MERGE_BYTES > one * 3, 'the cap here is server.max_request_bytes');
  assert.deepEqual(seen, [
    ['/a', 'r50', 'r52'],
    ['/b', 'r51', 'r54'],
    ['/a', 'r53', 'r55'],
  ]);
});

test('no room in server.max_memory_bytes for a merge buffer: the waiting bodies go one by one, as they came', async () => {
  const fake = new Fake();
  const memory = new MemoryBudget(1000);
  const { c, counts } = coalescer(fake, memory);
  const hold = Array.from({ length: RAW_POSTS_IN_FLIGHT }, (_, r) => c.post('/api/v1/write', body(r)));
  await tick();
  const bodies = [body(60), body(61), body(62)];
  const waiting = bodies.map((b) => c.post('/api/v1/write', b));
  fake.posts[0].answer(OK);
  await tick();
  const alone = fake.posts.slice(RAW_POSTS_IN_FLIGHT);
  assert.deepEqual(
    alone.map((p) => p.body),
    bodies,
  );
  for (const p of alone) p.answer(OK);
  fake.posts[1].answer(OK);
  await Promise.all([...waiting, ...hold]);
  assert.equal(counts.merged, 0);
  assert.equal(memory.used, 0);
});
