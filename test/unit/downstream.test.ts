import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Downstream } from '../../src/forward/downstream.js';

// A real HTTP server per case (127.0.0.1, port 0) answering POSTs as `answer` says.
async function serve(answer: (body: Buffer, res: import('node:http').ServerResponse) => void): Promise<{ server: Server; url: URL; bodies: Buffer[] }> {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      answer(bodies[bodies.length - 1], res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { server, url: new URL(`http://127.0.0.1:${port}/base/`), bodies };
}

test('post: the status decides the outcome, the body arrives unchanged, an error answer gives its first line', async () => {
  const replies: Array<[number, string]> = [
    [204, ''],
    [400, 'cannot parse: bad label\nsecond line'],
    [503, 'busy'],
    [429, ''],
    [401, 'who are you'],
    [404, 'no such path'],
    [409, 'conflict'],
    [405, 'method not allowed'],
    [413, 'too large'],
    [422, 'unprocessable'],
  ];
  let i = 0;
  const { server, url, bodies } = await serve((_b, res) => {
    const [status, text] = replies[i++];
    res.writeHead(status).end(text);
  });
  const d = new Downstream({ url, timeoutMs: 5_000 });
  try {
    const got = [];
    for (let k = 0; k < replies.length; k++) got.push(await d.post('/api/v1/write', Uint8Array.of(1, 2, 3, k), { 'content-type': 'application/x-protobuf' }));
    assert.deepEqual(
      got.map((r) => [r.status, r.outcome]),
      [
        [204, 'accepted'],
        [400, 'rejected'],
        [503, 'retryable'],
        [429, 'retryable'],
        [401, 'retryable'],
        [404, 'retryable'],
        [409, 'rejected'],
        [405, 'retryable'],
        [413, 'retryable'],
        [422, 'retryable'],
      ],
    );
    // Only a 4xx that is not about the data names a setting to check.
    assert.deepEqual(
      got.map((r) => r.setting !== undefined),
      [false, false, false, false, true, true, false, true, true, true],
    );
    assert.match(got[5].setting!, /writer\.datasource_url/);
    assert.match(got[8].setting!, /server\.max_request_bytes/);
    assert.equal(got[1].reason, '400 from downstream: cannot parse: bad label');
    assert.deepEqual(
      bodies.map((b) => [...b]),
      replies.map((_, k) => [1, 2, 3, k]),
    );
  } finally {
    await d.close();
    server.close();
  }
});

test('post: no answer within the timeout is retryable, and so is a refused connection', async () => {
  const { server, url } = await serve(() => {
    /* never answers */
  });
  const d = new Downstream({ url, timeoutMs: 300 });
  try {
    const t0 = Date.now();
    const r = await d.post('/api/v1/write', Uint8Array.of(1), {});
    assert.equal(r.status, 0);
    assert.equal(r.outcome, 'retryable');
    assert.match(r.reason, /TIMEOUT: no answer within 300 ms/);
    assert.ok(Date.now() - t0 >= 300, 'not before the timeout');
  } finally {
    await d.close();
    server.closeAllConnections();
    server.close();
  }
  const closed = new Downstream({ url, timeoutMs: 1_000 });
  try {
    const r = await closed.post('/api/v1/write', Uint8Array.of(1), {});
    assert.equal(r.status, 0);
    assert.equal(r.outcome, 'retryable');
    assert.match(r.reason, /downstream unreachable: ECONNREFUSED/);
  } finally {
    await closed.close();
  }
});
