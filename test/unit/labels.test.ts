/** The label arena of scored series (scoring/labels.ts): bytes kept exactly, through evictions and compactions. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LabelStore } from '../../src/scoring/labels.js';
import { batchOf } from './scoring-helpers.js';

function bytesOf(store: LabelStore, id: number): Buffer {
  const b = Buffer.alloc(store.lengthOf(id));
  store.copyTo(id, b, 0);
  return b;
}

test('label entries are kept byte for byte (the request bytes of a series), with their tenant, across compactions of the arena', () => {
  const store = new LabelStore();
  const want = new Map<number, Buffer>();
  // 30,000 series of ~120 label bytes each, two tenants; three in four released as it goes, so
  // the garbage passes the live bytes (and 1 MiB) and the arena is compacted several times.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 10_000; i++) {
      const id = round * 10_000 + i;
      const b = batchOf([{ labels: { __name__: 'node_cpu_seconds_total', cpu: String(i % 64), instance: `host-${id}.example.org:9100`, job: 'node', mode: 'idle' }, ts: [1], values: [1] }]);
      store.keep(id, b, 0, id % 2 ? '1:2' : null);
      want.set(id, Buffer.from(b.buf.subarray(b.lblStart[0], b.lblEnd[0])));
      if (id >= 1 && (id - 1) % 4 !== 0) {
        store.release(id - 1);
        want.delete(id - 1);
      }
    }
  }
  for (let id = 0; id < 30_000; id++) {
    assert.equal(store.has(id), want.has(id), `id ${id}`);
    if (!want.has(id)) continue;
    assert.deepEqual(bytesOf(store, id), want.get(id), `id ${id}`);
    assert.equal(store.tenants[store.tenantOf(id)], id % 2 ? '1:2' : null);
  }
  assert.deepEqual(store.tenants, [null, '1:2'], 'tenants interned');
});
