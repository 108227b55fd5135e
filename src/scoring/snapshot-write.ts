import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from '../wire/crc32.js';
import type { Scoring } from './scoring.js';
import { BYTE_ORDER, END_MAGIC, FOOTER, HEADER_FIXED, LINK_FIXED, MAGIC, RECORD_FIXED, SNAPSHOT_FILE, SNAPSHOT_TMP, VERSION, pad8, type HeaderJson, type TrailerJson } from './snapshot-format.js';

/** Longest stretch of serialising before the event loop gets a turn (ms). */
export const DEFAULT_SLICE_MS = 5;
/** The writer's buffer: at most this much is serialised between two writes. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

export interface WriteOptions {
  /** anomstream's version, recorded in the header. */
  version: string;
  /** Wall clock of the snapshot (ages are taken on the idle clock at this time). */
  nowMs?: number;
  /** Longest stretch of serialising before the event loop gets a turn (ms). */
  sliceMs?: number;
  /** Bytes serialised before each write (the writer's only buffer). */
  chunkBytes?: number;
}

export interface WriteResult {
  series: number;
  bytes: number;
  ms: number;
  /** Longest synchronous stretch (ms: serialising and the CRC of a chunk, not the awaited write): the most the writer held the event loop. */
  maxSliceMs: number;
}

/**
 * Writes every scored series' state to `<dir>/scoring.snapshot.tmp`, then makes it the
 * snapshot: fsync, rename over `<dir>/scoring.snapshot`, fsync the directory (a crash at any
 * point leaves the old snapshot or the new one, never a mix).
 *
 * Chunked so the proxy keeps serving: records are serialised into one buffer for at most
 * `sliceMs` (or until it is full), then the buffer is written with an await, which gives the
 * event loop its turn. Requests scored in between change state the walk has not reached yet,
 * so a snapshot is not one instant: each series is copied whole in one stretch (never half
 * old, half new), as of some moment during the write. Memory: the one buffer.
 */
export async function writeSnapshot(scoring: Scoring, dir: string, o: WriteOptions): Promise<WriteResult> {
  const t0 = performance.now();
  const nowMs = o.nowMs ?? Date.now();
  const w = new ChunkWriter(o.chunkBytes ?? DEFAULT_CHUNK_BYTES);
  const tmp = join(dir, SNAPSHOT_TMP);
  const fh = await open(tmp, 'w', 0o644);
  let done = false;
  try {
    w.fh = fh;
    const instances = scoring.spec.instances;
    const generation = scoring.state.generation;
    const header: HeaderJson = {
      anomstream: o.version,
      instances: instances.map((i) => ({ query: i.queryAlias, model: i.modelAlias, fingerprint: i.fingerprint, slots: i.scorer.slots })),
    };
    const hj = Buffer.from(JSON.stringify(header), 'utf8');
    w.ensure(HEADER_FIXED + pad8(hj.length));
    w.ascii(MAGIC);
    w.u32(VERSION);
    w.u32ne(BYTE_ORDER);
    w.f64(nowMs);
    w.u32(hj.length);
    w.u32(0);
    w.bytes(hj);

    const ref = scoring.seenNow(nowMs);
    const sliceMs = o.sliceMs ?? DEFAULT_SLICE_MS;
    let sliceStart = performance.now();
    let maxSlice = 0;
    let series = 0;
    for (let id = 0; id < scoring.state.index.end; id++) {
      // Re-read every time: between slices the arrays may have grown and series come and gone.
      const st = scoring.state;
      // The header names the instances of now: a reload in between would renumber them (App waits for a write to end before reloading).
      if (st.generation !== generation) throw new Error('the configuration was reloaded while the snapshot was written');
      const labels = st.labels;
      if (labels === null || !labels.has(id) || st.links.first[id] < 0) continue;
      const links = st.links;
      let size = RECORD_FIXED + pad8(labels.lengthOf(id));
      let n = 0;
      for (let k = links.first[id]; k >= 0; k = links.next[k]) {
        size += LINK_FIXED + 8 * st.instances[links.inst[k]].slots;
        n++;
      }
      if (w.room < size || ((series & 7) === 0 && performance.now() - sliceStart > sliceMs)) {
        const write = w.flush();
        maxSlice = Math.max(maxSlice, sliceEnd(sliceStart));
        await write;
        sliceStart = performance.now();
      }
      w.ensure(size);
      const seen = st.index.seenAt(id);
      w.u32(size);
      w.u32(seen >= 0 && seen < ref ? ref - seen : 0);
      w.u32(labels.tenantOf(id));
      w.u32(labels.lengthOf(id));
      w.u32(n);
      w.u32(0);
      w.pos += labels.copyTo(id, w.buf, w.pos);
      w.pad();
      for (let k = links.first[id]; k >= 0; k = links.next[k]) {
        const inst = st.instances[links.inst[k]];
        w.u32(links.inst[k]);
        w.u32(0);
        w.f64(links.prevValue[k]);
        w.f64(links.prevTs[k]);
        w.slots(inst.state, links.offset[k], inst.slots);
      }
      series++;
    }
    const trailer: TrailerJson = { series, tenants: scoring.state.labels?.tenants ?? [] };
    const tj = Buffer.from(JSON.stringify(trailer), 'utf8');
    w.ensure(8 + pad8(tj.length) + FOOTER);
    w.u32(0);
    w.u32(0);
    w.bytes(tj);
    const crc = w.crcUpTo();
    w.u32(crc);
    w.u32(tj.length);
    w.ascii(END_MAGIC);
    const last = w.flush();
    maxSlice = Math.max(maxSlice, sliceEnd(sliceStart));
    await last;
    await fh.sync();
    await fh.close();
    done = true;
    await rename(tmp, join(dir, SNAPSHOT_FILE));
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
    return { series, bytes: w.written, ms: performance.now() - t0, maxSliceMs: maxSlice };
  } catch (e) {
    if (!done) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

function sliceEnd(start: number): number {
  return performance.now() - start;
}

/** One reused buffer, written out with a running CRC-32; positions stay 8-aligned with the file's. */
class ChunkWriter {
  buf: Uint8Array;
  private dv: DataView;
  private f64a: Float64Array;
  private u32a: Uint32Array;
  pos = 0;
  written = 0;
  private crc = 0;
  fh: FileHandle | undefined;

  constructor(size: number) {
    this.buf = new Uint8Array(new ArrayBuffer(pad8(size)));
    this.dv = new DataView(this.buf.buffer);
    this.f64a = new Float64Array(this.buf.buffer);
    this.u32a = new Uint32Array(this.buf.buffer);
  }

  get room(): number {
    return this.buf.length - this.pos;
  }

  /** Room for n more bytes: a buffer that is too small for one record grows. */
  ensure(n: number): void {
    if (this.room >= n) return;
    const next = new Uint8Array(new ArrayBuffer(pad8(this.pos + n)));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.dv = new DataView(next.buffer);
    this.f64a = new Float64Array(next.buffer);
    this.u32a = new Uint32Array(next.buffer);
  }

  /** Adds the buffer to the CRC (synchronously, on return) and writes it out (the promise). */
  flush(): Promise<void> {
    if (this.pos === 0) return Promise.resolve();
    this.crc = crc32(this.buf.subarray(0, this.pos), this.crc);
    return this.writeOut();
  }

  private async writeOut(): Promise<void> {
    let off = 0;
    while (off < this.pos) off += (await this.fh!.write(this.buf, off, this.pos - off)).bytesWritten;
    this.written += this.pos;
    this.pos = 0;
  }

  /** CRC-32 of every byte so far, written or still in the buffer (the footer's). */
  crcUpTo(): number {
    return crc32(this.buf.subarray(0, this.pos), this.crc);
  }

  u32(v: number): void {
    this.dv.setUint32(this.pos, v, true);
    this.pos += 4;
  }

  /** In this host's byte order: the byte-order mark. */
  u32ne(v: number): void {
    this.u32a[this.pos >>> 2] = v;
    this.pos += 4;
  }

  f64(v: number): void {
    this.dv.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    this.pad();
  }

  pad(): void {
    while (this.pos & 7) this.buf[this.pos++] = 0;
  }

  /** n model slots from state[off..], as Float64 in this host's order (the byte-order mark says which). */
  slots(state: Float64Array, off: number, n: number): void {
    const f = this.f64a;
    const at = this.pos >>> 3;
    for (let j = 0; j < n; j++) f[at + j] = state[off + j];
    this.pos += 8 * n;
  }
}
