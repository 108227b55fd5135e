/**
 * Issue 20 item 1 (the full matrix; bad-input.test.ts has the gzip cases): the body decides the encoding, not the Content-Encoding header (as the Debian
 * VictoriaMetrics 1.79.5 snappy-decodes every remote write body whatever its header says, and
 * later releases read zstd by its magic number). Against a real anomstream and VictoriaMetrics:
 *
 * - snappy and zstd bodies under every mislabelling (each other's name, gzip, lz4, identity, none,
 *   garbage) are answered 204 and every sample lands in VictoriaMetrics;
 * - a gzip, framed (stream) snappy or LZ4 frame body (known by its magic number) gets 415 naming
 *   the format and saying what to send, counted in anomstream_decode_errors_total{reason="encoding"},
 *   and nothing of it reaches VictoriaMetrics.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type InputSeries, VM_BIN, configYaml, distinctSamples, encodeWriteRequest, requireBinaries, snappyCompress, waitFor } from './harness.js';
import { withVictoriaMetrics } from './stack.js';

const ZSTD_BIN = process.env.ZSTD_BIN ?? '/usr/bin/zstd';
const LZ4_BIN = process.env.LZ4_BIN ?? '/usr/bin/lz4';

function cli(bin: string, args: string[], input: Uint8Array): Buffer {
  const r = spawnSync(bin, ['-q', '-c', ...args], { input, maxBuffer: 1 << 24 });
  assert.equal(r.status, 0, `${bin} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The snappy framing format: stream identifier, then one uncompressed chunk (CRC not checked: refused by its magic). */
function framedSnappy(raw: Uint8Array): Buffer {
  const head = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);
  const len = raw.length + 4;
  const chunk = Buffer.from([0x01, len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, 0, 0, 0, 0]);
  return Buffer.concat([head, chunk, raw]);
}

function series(name: string, now: number): InputSeries {
  const timestamps = [now - 20_000, now - 10_000, now];
  return { labels: { __name__: name, job: 'enc' }, timestamps, values: [1, 2, 3] };
}

test('content-encoding: the body decides; mislabelled snappy/zstd land in VictoriaMetrics; gzip, framed snappy, LZ4 get 415 naming the format', { timeout: 120_000 }, async (t) => {
  if (!requireBinaries(t, VM_BIN, ZSTD_BIN, LZ4_BIN)) return;
  await withVictoriaMetrics(
    t,
    (port, url) => configYaml({ port, datasourceUrl: url }),
    async (vm, anom) => {
      const now = Date.now();
      const accepted: string[] = [];
      const headers: (string | undefined)[] = [undefined, 'snappy', 'zstd', 'gzip', 'lz4', 'identity', 'x-snappy-framed', 'Snappy, gzip'];
      for (const [bodyKind, compress] of [
        ['snappy', (raw: Uint8Array) => snappyCompress(raw)],
        ['zstd', (raw: Uint8Array) => cli(ZSTD_BIN, ['-3', '--no-check', `--stream-size=${raw.length}`], raw)],
      ] as const) {
        for (const [i, h] of headers.entries()) {
          const name = `enc_${bodyKind}_as_${i}`;
          const r = await anom.write(compress(encodeWriteRequest([series(name, now)])), h === undefined ? {} : { 'Content-Encoding': h });
          assert.equal(r.status, 204, `${bodyKind} body with Content-Encoding ${h ?? '(none)'}: ${r.status} ${r.body.toString()}`);
          accepted.push(name);
        }
      }
      assert.equal(await anom.metric('anomstream_write_requests_by_encoding_total{encoding="snappy"}'), headers.length);
      assert.equal(await anom.metric('anomstream_write_requests_by_encoding_total{encoding="zstd"}'), headers.length);

      const got = await waitFor('every mislabelled request in VictoriaMetrics', async () => {
        const s = await vm.exportSeries('{job="enc"}');
        return s.length >= accepted.length && s.every((x) => distinctSamples(x).size === 3) ? s : undefined;
      });
      assert.deepEqual(got.map((s) => s.metric.__name__).sort(), [...accepted].sort());
      for (const s of got) assert.deepEqual([...distinctSamples(s).values()].sort(), [1, 2, 3], `${s.metric.__name__}: ${JSON.stringify(s)}`);

      const errorsBefore = await anom.metric('anomstream_decode_errors_total{reason="encoding"}');
      assert.equal(errorsBefore, 0);
      const rowsBefore = await vm.rowsInserted();
      const refused = encodeWriteRequest([series('enc_refused', now)]);
      const cases: [string, Buffer, string, RegExp][] = [
        ['gzip', gzipSync(refused), 'gzip', /^the body is gzip \(Content-Encoding 'gzip'\)/],
        ['gzip labelled snappy', gzipSync(refused), 'snappy', /^the body is gzip \(Content-Encoding 'snappy'\)/],
        ['framed snappy', framedSnappy(refused), 'snappy', /^the body is framed snappy \(the stream format\)/],
        ['LZ4 frame', cli(LZ4_BIN, [], refused), 'lz4', /^the body is lz4 frame/],
      ];
      for (const [what, body, header, reason] of cases) {
        const r = await anom.write(body, { 'Content-Encoding': header });
        const text = r.body.toString().trim();
        assert.equal(r.status, 415, `${what}: ${r.status} ${text}`);
        assert.match(text, reason, what);
        assert.match(text, /anomstream reads snappy blocks .* and zstd/, what);
        t.diagnostic(`${what}: 415 ${text}`);
      }
      assert.equal(await anom.metric('anomstream_decode_errors_total{reason="encoding"}'), cases.length);
      assert.ok(anom.proc.running, anom.proc.tail());
      assert.equal(await vm.rowsInserted(), rowsBefore, 'nothing of the refused bodies reached VictoriaMetrics');
    },
  );
});
