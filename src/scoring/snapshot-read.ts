import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { WriteBatch, WriteRequestDecoder } from '../ingest/write-request.js';
import { crc32 } from '../wire/crc32.js';
import { grown } from '../wire/grow.js';
import { writeVarint } from '../wire/varint.js';
import type { ScoreSink } from './output.js';
import { DUPLICATE, RestoredLinks, type Scoring } from './scoring.js';
import { BYTE_ORDER, END_MAGIC, FOOTER, HEADER_FIXED, LINK_FIXED, MAGIC, RECORD_FIXED, VERSION, pad8, type HeaderJson, type TrailerJson } from './snapshot-format.js';

/** Why a snapshot file was not used. */
export class SnapshotUnusable extends Error {
  constructor(
    readonly outcome: 'corrupt' | 'incompatible',
    message: string,
  ) {
    super(message);
  }
}

export interface ReadOptions {
  /** limits.series_idle_timeout (ms): series idle longer at restore (their age in the file + time since it was written) are dropped. */
  idleTimeoutMs: number;
  nowMs?: number;
}

export interface ReadResult {
  /** Series restored (each with its current instances, warm or cold). */
  series: number;
  /** Series dropped: idle too long, the index full (limits.max_series), another instance's shard (shard:). */
  droppedIdle: number;
  droppedLimit: number;
  droppedNotOwned: number;
  /** Records of a series restored already (several files merged): the one seen last kept. */
  duplicates: number;
  /** Links restored warm, and links of the snapshot whose model is gone or changed. */
  warmModels: number;
  coldModels: number;
  bytes: number;
  ms: number;
}

/**
 * Restores `file` into `scoring` (which must be empty), telling `sink` of each restored
 * series as of a new one (its block plan, its tenancy check). All or nothing: the whole file
 * is checked first (size, footer, magic, version, byte order, CRC-32 over every byte), and
 * only then applied; if applying fails all the same, the scoring state is cleared. Throws
 * SnapshotUnusable (the caller moves the file aside and starts cold); I/O errors propagate.
 *
 * Startup only: reads synchronously, in 4 MiB chunks (twice: once for the CRC, once to apply).
 */
export function readSnapshot(scoring: Scoring, file: string, sink: ScoreSink, o: ReadOptions): ReadResult {
  const t0 = performance.now();
  const nowMs = o.nowMs ?? Date.now();
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const { header, headerBytes, trailer, writtenAt, labelBytes } = check(fd, size);
    // A record's age is as of writtenAt; the time since (anomstream was down) counts as idle too.
    const sinceSec = Math.floor(Math.max(0, nowMs - writtenAt) / 1000);
    try {
      const reader = new Reader(fd, size - FOOTER);
      reader.skip(headerBytes);
      const r = apply(scoring, reader, header, trailer, labelBytes, sink, Math.floor(o.idleTimeoutMs / 1000) - sinceSec, scoring.seenNow(nowMs) - sinceSec);
      return { ...r, bytes: size, ms: performance.now() - t0 };
    } catch (e) {
      scoring.clear(); // never a half-restored state
      if (e instanceof SnapshotUnusable) throw e;
      throw new SnapshotUnusable('corrupt', `unreadable record: ${(e as Error).message}`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Everything but the records: throws SnapshotUnusable unless the file is whole and of this format. */
function check(fd: number, size: number): { header: HeaderJson; headerBytes: number; trailer: TrailerJson; writtenAt: number; labelBytes: number } {
  if (size < HEADER_FIXED + 8 + FOOTER || size % 8 !== 0) throw new SnapshotUnusable('corrupt', `truncated: ${size} bytes`);
  const head = readAt(fd, 0, HEADER_FIXED);
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (ascii(head, 0, 8) !== MAGIC) throw new SnapshotUnusable('corrupt', 'not an anomstream snapshot (magic)');
  const version = dv.getUint32(8, true);
  if (version !== VERSION) throw new SnapshotUnusable('incompatible', `format version ${version}, this anomstream reads version ${VERSION}`);
  if (new Uint32Array(head.buffer, head.byteOffset + 12, 1)[0] !== BYTE_ORDER) throw new SnapshotUnusable('incompatible', 'written on a host of the other byte order');
  const foot = readAt(fd, size - FOOTER, FOOTER);
  const fv = new DataView(foot.buffer, foot.byteOffset, foot.byteLength);
  if (ascii(foot, 8, 8) !== END_MAGIC) throw new SnapshotUnusable('corrupt', 'truncated (no end marker)');
  const hl = dv.getUint32(24, true);
  let crc = 0;
  const chunk = new Uint8Array(4 << 20);
  const labels = new LabelBytes(HEADER_FIXED + pad8(hl), size - FOOTER);
  for (let at = 0; at < size - FOOTER; at += chunk.length) {
    const got = readAt(fd, at, Math.min(chunk.length, size - FOOTER - at), chunk);
    crc = crc32(got, crc);
    labels.walk(fd, got, at);
  }
  if (crc !== fv.getUint32(0, true)) throw new SnapshotUnusable('corrupt', 'checksum mismatch');
  // The CRC holds: the lengths below were written by a writer of this format.
  const tl = fv.getUint32(4, true);
  try {
    const header = JSON.parse(Buffer.from(readAt(fd, HEADER_FIXED, hl)).toString('utf8')) as HeaderJson;
    const trailer = JSON.parse(Buffer.from(readAt(fd, size - FOOTER - pad8(tl), tl)).toString('utf8')) as TrailerJson;
    if (!Array.isArray(header.instances) || !Array.isArray(trailer.tenants)) throw new Error('missing instances or tenants');
    return { header, headerBytes: HEADER_FIXED + pad8(hl), trailer, writtenAt: dv.getFloat64(16, true), labelBytes: labels.total };
  } catch (e) {
    throw new SnapshotUnusable('corrupt', `header: ${(e as Error).message}`);
  }
}

/**
 * The label bytes of all records, added up while the CRC pass reads the file (a restore keeps
 * them all: LabelStore's arena is reserved for them at once). Follows the record lengths from
 * the first record on, through each chunk the pass reads; a record header split between two
 * chunks is read on its own. Only a size hint: a record length the format cannot have stops it
 * (the restore then finds the file corrupt).
 */
class LabelBytes {
  total = 0;
  private done = false;

  constructor(
    /** The next record's offset in the file. */
    private next: number,
    private readonly end: number,
  ) {}

  /** `chunk` holds the file's bytes from `at`. */
  walk(fd: number, chunk: Uint8Array, at: number): void {
    const dv = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const stop = at + chunk.length;
    while (!this.done && this.next < stop) {
      let len: number, ll: number;
      if (this.next + RECORD_FIXED <= stop) {
        len = dv.getUint32(this.next - at, true);
        ll = dv.getUint32(this.next - at + 12, true);
      } else if (this.next + RECORD_FIXED <= this.end) {
        const h = readAt(fd, this.next, RECORD_FIXED);
        const hv = new DataView(h.buffer, h.byteOffset, h.byteLength);
        len = hv.getUint32(0, true);
        ll = hv.getUint32(12, true);
      } else break;
      if (len < RECORD_FIXED || len % 8 !== 0 || ll > len) {
        this.done = true; // the end marker (a length of 0), or not a record
        break;
      }
      this.total += ll;
      this.next += len;
    }
  }
}

/** The records, from the reader's position: `maxAge` (s) the oldest idle age kept, `seenAtWrite` the idle clock (s) at the snapshot's time. */
function apply(scoring: Scoring, r: Reader, header: HeaderJson, trailer: TrailerJson, labelBytes: number, sink: ScoreSink, maxAge: number, seenAtWrite: number): Omit<ReadResult, 'bytes' | 'ms'> {
  // Snapshot instance -> current instance with the same (query, model, fingerprint, slots), or -1.
  const current = scoring.spec.instances;
  const map = header.instances.map((h) => current.findIndex((c) => c.queryAlias === h.query && c.modelAlias === h.model && c.fingerprint === h.fingerprint && c.scorer.slots === h.slots));
  const slotsOf = header.instances.map((h) => h.slots);
  // Room for every series of the file at once (the trailer has their count; each current
  // instance a file's instance maps to may score them all): what restoring them one by one grows
  // to, without ~20 doublings of every column, each copied into memory not yet touched.
  // A count the records cannot hold (a writer's bug: the CRC holds) reserves no more than they can.
  const inFile = Number.isSafeInteger(trailer.series) && trailer.series > 0 ? Math.min(trailer.series, Math.floor(r.remaining() / RECORD_FIXED)) : 0;
  const links = new Array<number>(current.length).fill(0);
  for (const ii of map) if (ii >= 0) links[ii] = inFile;
  scoring.reserveForRestore(inFile, links, Math.min(labelBytes, r.remaining()), sink);
  const restored = new RestoredLinks();
  const batch = new WriteBatch();
  const decoder = new WriteRequestDecoder();
  let req = new Uint8Array(1024);
  const out = { series: 0, droppedIdle: 0, droppedLimit: 0, droppedNotOwned: 0, duplicates: 0, warmModels: 0, coldModels: 0 };
  for (;;) {
    r.need(8);
    const len = r.u32(0);
    if (len === 0) break;
    if (len < RECORD_FIXED || len % 8 !== 0) throw new SnapshotUnusable('corrupt', `record length ${len}`);
    r.need(len);
    const age = r.u32(4);
    const tenantNo = r.u32(8);
    const ll = r.u32(12);
    const n = r.u32(16);
    if (tenantNo >= trailer.tenants.length) throw new SnapshotUnusable('corrupt', `tenant ${tenantNo}`);
    if (age > maxAge) {
      out.droppedIdle++;
      r.advance(len);
      continue;
    }
    // The record's labels as a one-series WriteRequest (TimeSeries{labels}), decoded like a request.
    const lp = RECORD_FIXED;
    if (req.length < ll + 16) req = new Uint8Array(2 * (ll + 16));
    req[0] = 0x0a;
    const p = writeVarint(req, 1, ll);
    req.set(r.bytes(lp, ll), p);
    decoder.decode(req.subarray(0, p + ll), batch);
    let q = lp + pad8(ll);
    restored.count = 0;
    // The links' slots are read where they lie, in the reader's buffer (stable until the next
    // record: need(len) above holds the whole record), not copied once more on the way.
    restored.slots = r.float64s();
    for (let k = 0; k < n; k++) {
      const inst = r.u32(q);
      if (inst >= slotsOf.length) throw new SnapshotUnusable('corrupt', `instance ${inst}`);
      const ii = map[inst];
      if (ii >= 0) {
        if (restored.count >= restored.inst.length) growLinks(restored);
        const c = restored.count++;
        restored.inst[c] = ii;
        restored.prevValue[c] = r.f64(q + 8);
        restored.prevTs[c] = r.f64(q + 16);
        restored.slotsAt[c] = r.float64At(q + LINK_FIXED);
      } else out.coldModels++;
      q += LINK_FIXED + 8 * slotsOf[inst];
    }
    if (q !== len) throw new SnapshotUnusable('corrupt', `record of ${len} bytes holds ${q}`);
    if (!scoring.owns(batch, 0)) {
      // Another instance's series (the instance count changed, or a file of another shard was restored here).
      out.droppedNotOwned++;
      r.advance(len);
      continue;
    }
    const id = scoring.restoreSeries(batch, 0, trailer.tenants[tenantNo], Math.max(0, seenAtWrite - age), restored, sink);
    if (id === DUPLICATE) out.duplicates++;
    else if (id < 0) out.droppedLimit++;
    else {
      out.series++;
      out.warmModels += restored.count;
    }
    r.advance(len);
  }
  return out;
}

function growLinks(r: RestoredLinks): void {
  const n = r.inst.length + 1;
  r.inst = grown(r.inst, n);
  r.slotsAt = grown(r.slotsAt, n);
  r.prevValue = grown(r.prevValue, n);
  r.prevTs = grown(r.prevTs, n);
}

/** n bytes of the file at `at`, into `into` (reused) when given. */
function readAt(fd: number, at: number, n: number, into?: Uint8Array): Uint8Array {
  const b = into === undefined ? new Uint8Array(n) : into.subarray(0, n);
  let got = 0;
  while (got < n) {
    const k = readSync(fd, b, got, n - got, at + got);
    if (k === 0) throw new SnapshotUnusable('corrupt', 'truncated');
    got += k;
  }
  return b;
}

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}

/**
 * Sequential reads of [0, end) through one buffer; `pos` is the current record's start, kept
 * 8-aligned with the file so model slots are read as Float64 runs. Offsets of u32() etc. are
 * relative to `pos`.
 */
class Reader {
  private buf = new Uint8Array(new ArrayBuffer(4 << 20));
  private dv = new DataView(this.buf.buffer);
  private f64a = new Float64Array(this.buf.buffer);
  /** Buffer [pos, fill) holds file bytes [filePos, filePos + fill - pos). */
  private pos = 0;
  private fill = 0;
  private filePos = 0;

  constructor(
    private readonly fd: number,
    private readonly end: number,
  ) {}

  /** Have at least n bytes from pos in the buffer. */
  need(n: number): void {
    if (this.fill - this.pos >= n) return;
    if (this.filePos + n > this.end) throw new SnapshotUnusable('corrupt', 'a record runs past the end');
    const keep = this.fill - this.pos;
    if (n > this.buf.length) {
      const b = new Uint8Array(new ArrayBuffer(pad8(n)));
      b.set(this.buf.subarray(this.pos, this.fill));
      this.buf = b;
      this.dv = new DataView(b.buffer);
      this.f64a = new Float64Array(b.buffer);
    } else this.buf.copyWithin(0, this.pos, this.fill);
    this.pos = 0;
    this.fill = keep;
    const want = Math.min(this.buf.length - keep, this.end - (this.filePos + keep));
    let got = 0;
    while (got < want) {
      const k = readSync(this.fd, this.buf, keep + got, want - got, this.filePos + keep + got);
      if (k === 0) break;
      got += k;
    }
    this.fill += got;
    if (this.fill < n) throw new SnapshotUnusable('corrupt', 'truncated');
  }

  /** File bytes from the current record to the end. */
  remaining(): number {
    return this.end - this.filePos;
  }

  skip(n: number): void {
    this.need(n);
    this.advance(n);
  }

  advance(n: number): void {
    this.pos += n;
    this.filePos += n;
  }

  u32(at: number): number {
    return this.dv.getUint32(this.pos + at, true);
  }

  f64(at: number): number {
    return this.dv.getFloat64(this.pos + at, true);
  }

  bytes(at: number, n: number): Uint8Array {
    return this.buf.subarray(this.pos + at, this.pos + at + n);
  }

  /** The buffer as Float64s (replaced when need() grows it). */
  float64s(): Float64Array {
    return this.f64a;
  }

  /** The index in float64s() of the Float64 at `at` (8-aligned). */
  float64At(at: number): number {
    return (this.pos + at) >>> 3;
  }
}
