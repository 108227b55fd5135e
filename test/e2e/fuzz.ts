/**
 * The receiver's fuzzer (issue 17 item 8): random and mutated remote write requests against a
 * running anomstream process, forwarding to a counting sink. Per request it knows what it sent
 * (its kind, body, Content-Encoding) and checks the answer:
 *  - every answer is 204, 400, 415 or 503 (no other 5xx, no 408: nothing here is slow) within
 *    REQUEST_TIMEOUT_MS (no hang); a well-formed request (kind `valid`, `valid-zstd`) gets 204;
 *  - every 204's body reached the sink: byte for byte (SHA-256 of every body the sink got), or, for
 *    a snappy body, merged with others that waited for the same POST (src/ingest/coalesce.ts):
 *    every top-level field (timeseries, metadata) of its WriteRequest is one of a POST's;
 *  - the process is still running at the end, and its peak RSS (VmHWM) is reported.
 * Kinds, drawn at random with a fixed seed (the same run every time): valid snappy and zstd
 * requests, bit flips and truncations of both (compressed and before compression), huge and
 * overlong varints, label bombs (many labels, long names and values), snappy and zstd bombs
 * (tens of MiB announced or decoded), random bytes, and every Content-Encoding header form.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SnappyReader } from '../../src/wire/snappy.js';
import { isZstd } from '../../src/wire/zstd.js';
import { encodeWriteRequest, rng, snappyCompress, type InputSeries } from './harness.js';

export const ZSTD_BIN = process.env.ZSTD_BIN ?? '/usr/bin/zstd';
const REQUEST_TIMEOUT_MS = 30_000;
const MiB = 1 << 20;

/**
 * The top-level fields of a WriteRequest (tag, length and payload of each: timeseries, metadata),
 * as byte ranges; null when it does not parse as protobuf.
 */
function topLevelFields(b: Uint8Array): Uint8Array[] | null {
  const out: Uint8Array[] = [];
  let p = 0;
  const varint = (): number => {
    let n = 0;
    for (let shift = 1; ; shift *= 128) {
      if (p >= b.length || shift > 2 ** 63) throw new Error('bad varint');
      const x = b[p++];
      n += (x & 0x7f) * shift;
      if (x < 0x80) return n;
    }
  };
  try {
    while (p < b.length) {
      const start = p;
      const wire = varint() & 7;
      if (wire === 0) varint();
      else if (wire === 1) p += 8;
      else if (wire === 5) p += 4;
      else if (wire === 2) {
        const n = varint(); // not `p += varint()`: that adds to p as it was before the length
        p += n;
      } else return null;
      if (p > b.length) return null;
      out.push(b.subarray(start, p));
    }
  } catch {
    return null;
  }
  return out;
}

/** A sink that answers 204 to everything and keeps the SHA-256 of every body it got, and of every top-level field of a snappy one. */
export class DigestSink {
  readonly digests = new Set<string>();
  readonly fields = new Set<string>();
  private readonly snappy = new SnappyReader();
  posts = 0;
  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(): Promise<DigestSink> {
    const server = http.createServer({ keepAliveTimeout: 60_000 });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const sink = new DigestSink(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const h = createHash('sha256');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        h.update(c);
        chunks.push(c);
      });
      req.on('end', () => {
        if (req.method === 'POST') {
          sink.posts++;
          sink.digests.add(h.digest('hex'));
          const body = Buffer.concat(chunks);
          if (!isZstd(body)) for (const f of sink.fieldsOf(body) ?? []) sink.fields.add(sha256(f));
        }
        res.writeHead(req.url === '/health' ? 200 : 204).end();
      });
    });
    return sink;
  }

  /** The top-level fields of a snappy body's WriteRequest; null when it does not decode. */
  fieldsOf(body: Uint8Array): Uint8Array[] | null {
    try {
      return topLevelFields(this.snappy.decompress(body, 64 * MiB));
    } catch {
      return null;
    }
  }

  /** `body` (answered 204) reached the sink: byte for byte, or (snappy) every field of it in some POST. */
  got(body: Uint8Array): boolean {
    if (this.digests.has(sha256(body))) return true;
    if (isZstd(body)) return false;
    const fields = this.fieldsOf(body);
    return fields !== null && fields.every((f) => this.fields.has(sha256(f)));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function zstd(raw: Uint8Array, args: string[] = ['-3']): Uint8Array {
  return execFileSync(ZSTD_BIN, ['-q', '-c', ...args], { input: raw, maxBuffer: 256 * MiB });
}

type Kind = 'valid' | 'valid-zstd' | 'bitflip' | 'bitflip-raw' | 'bitflip-zstd' | 'truncate' | 'truncate-zstd' | 'varint' | 'label-bomb' | 'snappy-bomb' | 'zstd-bomb' | 'random' | 'encoding';

/** One request: what it is, its body and headers. */
interface Case {
  kind: Kind;
  body: Uint8Array;
  encoding: string | undefined;
}

/** Draws fuzz cases from a seed; valid requests are drawn from real-looking series. */
export class CaseMaker {
  private readonly r: () => number;
  /** Well-formed requests, made once (encoding each case afresh would make the fuzzer, not anomstream, the bottleneck). */
  private readonly pool: { raw: Uint8Array; snappy: Uint8Array; zstd: Uint8Array }[] = [];
  private readonly bombs: { body: Uint8Array; encoding: string }[];

  constructor(seed: number) {
    this.r = rng(seed);
    // zstd bodies are made by the zstd CLI (5 ms a call), a third without Frame_Content_Size (as
    // the CLI writes from a pipe); every case mutates a fresh copy.
    for (let i = 0; i < 64; i++) {
      const raw = encodeWriteRequest(this.series());
      this.pool.push({ raw, snappy: snappyCompress(raw), zstd: zstd(raw, i % 3 === 0 ? ['-3', '--no-content-size'] : ['-3']) });
    }
    const emptySeries = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => (i & 1 ? 0 : 0x0a));
    this.bombs = [
      { body: snappyCompress(emptySeries(32 * MiB)), encoding: 'snappy' }, // 16M empty series: limits.max_series_per_request
      { body: snappyCompress(new Uint8Array(24 * MiB)), encoding: 'snappy' }, // zeros: not a WriteRequest, found after decompressing
      { body: Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x7f, 0x00]), encoding: 'snappy' }, // announces 32 GiB, holds nothing
      { body: zstd(emptySeries(32 * MiB), ['-1']), encoding: 'zstd' },
      { body: zstd(new Uint8Array(64 * MiB), ['-1']), encoding: 'zstd' }, // announces 64 MiB: over server.max_request_bytes
      { body: zstd(new Uint8Array(40 * MiB), ['-1', '--no-content-size']), encoding: 'zstd' }, // decodes past the limit
    ];
  }

  private int(n: number): number {
    return Math.floor(this.r() * n);
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }

  private text(maxLen: number): string {
    const n = 1 + this.int(maxLen);
    let s = '';
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.r() < 0.9 ? 97 + this.int(26) : 0x20 + this.int(0x3000));
    return s;
  }

  private series(): InputSeries[] {
    const out: InputSeries[] = [];
    const now = Date.now();
    for (let s = 0, n = 1 + this.int(20); s < n; s++) {
      const labels: Record<string, string> = { __name__: this.pick(['up', 'node_cpu_seconds_total', 'http_requests_total', 'x']) };
      for (let l = 0, k = this.int(6); l < k; l++) labels[`l${this.text(8)}`] = this.text(20);
      const m = 1 + this.int(5);
      out.push({
        labels,
        timestamps: Array.from({ length: m }, (_, i) => now - 600_000 + i * 15_000 + this.int(1000)),
        values: Array.from({ length: m }, () => (this.r() < 0.05 ? this.pick([NaN, Infinity, -0, 1e308]) : this.r() * 100)),
      });
    }
    return out;
  }

  private flip(b: Uint8Array): Uint8Array {
    const c = Uint8Array.from(b);
    for (let i = 0, n = 1 + this.int(8); i < n && c.length > 0; i++) c[this.int(c.length)] ^= 1 << this.int(8);
    return c;
  }

  private truncate(b: Uint8Array): Uint8Array {
    return b.subarray(0, this.int(b.length));
  }

  /** A WriteRequest with a huge or overlong varint spliced in (a length, a tag, a timestamp). */
  private varint(raw: Uint8Array): Uint8Array {
    const at = this.int(raw.length + 1);
    const v = this.pick([
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 2^64 - 1
      [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 11 bytes: overlong
      [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // a TimeSeries of 4 GiB
      [0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80], // never-ending length
    ]);
    const out = new Uint8Array(raw.length + v.length);
    out.set(raw.subarray(0, at));
    out.set(v, at);
    out.set(raw.subarray(at), at + v.length);
    return snappyCompress(out);
  }

  /** Too many labels, long names, long values (forwarded, not scored), maybe over a request limit. */
  private labelBomb(): Uint8Array {
    const labels: Record<string, string> = { __name__: 'bomb' };
    const shape = this.int(3);
    if (shape === 0) for (let i = 0; i < 50 + this.int(500); i++) labels[`l${i}`] = 'v';
    else if (shape === 1) labels[`n${'x'.repeat(200 + this.int(2000))}`] = 'v';
    else labels.big = 'y'.repeat(4000 + this.int(200_000));
    return snappyCompress(encodeWriteRequest([{ labels, timestamps: [Date.now() - 60_000], values: [1] }]));
  }

  next(): Case {
    const x = this.r();
    const p = this.pick(this.pool);
    if (x < 0.3) return { kind: 'valid', body: this.r() < 0.2 ? snappyCompress(encodeWriteRequest(this.series())) : p.snappy, encoding: this.pick(['snappy', undefined, 'Snappy']) };
    if (x < 0.4) return { kind: 'valid-zstd', body: p.zstd, encoding: 'zstd' };
    if (x < 0.5) return { kind: 'bitflip', body: this.flip(p.snappy), encoding: 'snappy' };
    if (x < 0.57) return { kind: 'bitflip-raw', body: snappyCompress(this.flip(p.raw)), encoding: 'snappy' };
    if (x < 0.64) return { kind: 'bitflip-zstd', body: this.flip(p.zstd), encoding: 'zstd' };
    if (x < 0.71) return { kind: 'truncate', body: this.truncate(p.snappy), encoding: 'snappy' };
    if (x < 0.76) return { kind: 'truncate-zstd', body: this.truncate(p.zstd), encoding: 'zstd' };
    if (x < 0.83) return { kind: 'varint', body: this.varint(p.raw), encoding: 'snappy' };
    if (x < 0.88) return { kind: 'label-bomb', body: this.labelBomb(), encoding: 'snappy' };
    if (x < 0.8805) {
      const b = this.pick(this.bombs);
      return { kind: b.encoding === 'zstd' ? 'zstd-bomb' : 'snappy-bomb', body: b.body, encoding: b.encoding };
    }
    if (x < 0.94) {
      const n = this.int(this.pick([16, 1024, 65536]));
      return { kind: 'random', body: Uint8Array.from({ length: n }, () => this.int(256)), encoding: this.pick(['snappy', 'zstd', undefined]) };
    }
    // Every Content-Encoding form: the readable ones in other cases and spellings, unreadable ones, lists, garbage.
    const enc = this.pick(['zstd', 'ZSTD', ' snappy ', 'gzip', 'deflate', 'br', 'lz4', 'identity', '', 'snappy, gzip', 'zstd;q=1', 'x-snappy-framed', '\u00e9', 'snappy\tzstd']);
    return { kind: 'encoding', body: this.r() < 0.5 ? p.zstd : p.snappy, encoding: enc };
  }
}

export interface FuzzResult {
  sent: number;
  byKind: Record<string, Record<number, number>>;
  problems: string[];
  seconds: number;
}

/** POST one case; resolves with the status (0: no answer within REQUEST_TIMEOUT_MS, or an error). */
function post(agent: http.Agent, url: URL, c: Case): Promise<{ status: number; error?: string }> {
  return new Promise((resolve) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-protobuf', 'x-prometheus-remote-write-version': '0.1.0', 'content-length': String(c.body.length) };
    if (c.encoding !== undefined) headers['content-encoding'] = c.encoding;
    const req = http.request({ agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', (e) => resolve({ status: 0, error: e.message }));
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', (e) => resolve({ status: 0, error: e.message }));
    req.end(c.body);
  });
}

/**
 * Send `count` cases with `concurrency` in flight to `writeUrl`, anomstream forwarding to `sink`.
 * An error answer (ECONNRESET after a refused request closed its connection) is retried once on a
 * fresh connection before it counts as a problem.
 */
export async function fuzz(writeUrl: string, sink: DigestSink, count: number, concurrency: number, seed: number): Promise<FuzzResult> {
  const maker = new CaseMaker(seed);
  const url = new URL(writeUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const byKind: FuzzResult['byKind'] = {};
  const problems: string[] = [];
  const accepted: { kind: Kind; body: Uint8Array }[] = [];
  let sent = 0;
  const t0 = Date.now();
  const worker = async (): Promise<void> => {
    while (sent < count) {
      sent++;
      const c = maker.next();
      let r = await post(agent, url, c);
      if (r.status === 0) r = await post(new http.Agent(), url, c);
      const k = (byKind[c.kind] ??= {});
      k[r.status] = (k[r.status] ?? 0) + 1;
      if (r.status === 0) problems.push(`${c.kind}: no answer (${r.error})`);
      else if (r.status !== 204 && r.status !== 400 && r.status !== 415 && r.status !== 503) problems.push(`${c.kind} (${c.encoding}): answered ${r.status}`);
      else if ((c.kind === 'valid' || c.kind === 'valid-zstd') && r.status !== 204) problems.push(`${c.kind}: a well-formed request answered ${r.status}`);
      if (r.status === 204) accepted.push({ kind: c.kind, body: c.body });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  agent.destroy();
  for (const a of accepted) if (!sink.got(a.body)) problems.push(`${a.kind}: answered 204 but its data did not reach the datasource (byte for byte, or every field in a merged POST)`);
  return { sent, byKind, problems, seconds: (Date.now() - t0) / 1000 };
}
