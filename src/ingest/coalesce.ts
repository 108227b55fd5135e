import type { PostResult } from '../forward/downstream.js';
import { bufferSize } from '../wire/grow.js';
import { snappyDecodedLength } from '../wire/snappy.js';
import { varintLen, writeVarint } from '../wire/varint.js';
import type { MemoryBudget } from './budget.js';

/**
 * Raw snappy POSTs in flight before a request waits to ride in the next POST. Measured (bench/
 * RESULTS.md, issue 20, branch post), at saturation with 4 senders: 1 -> 0.51 raw POSTs per request
 * (and 0.51 generated writes: requests accepted together are scored into one block), 2 -> 0.79 (and
 * 0.64), main 1 (and 0.55-0.73). At low load a request rarely finds a POST in flight and goes at
 * once; it waits at most for the one in flight. Throughput is not capped by it (full POSTs go past it).
 */
export const RAW_POSTS_IN_FLIGHT = 1;
/**
 * Largest merged POST, uncompressed and compressed (a few requests' worth under load; far under
 * VictoriaMetrics' -maxInsertRequestSize, 32 MiB by default). Never more than server.max_request_bytes
 * either: a merged body is never larger than a request anomstream would take from a sender.
 */
export const MERGE_BYTES = 4 << 20;
/** A merge buffer up to this size is kept for the next merge (and stays counted in server.max_memory_bytes). */
const KEEP_BYTES = 1 << 20;

/** POST one body (snappy remote write headers) to `path`. */
export type Send = (path: string, body: Uint8Array) => Promise<PostResult>;

/** Counters of the coalescer (RawForward registers them). */
export interface CoalesceMetrics {
  /** Requests that went in a POST carrying more than one request. */
  merged: { inc(n?: number): void };
  /** Merged POSTs refused (400/409/413) whose requests were re-sent one by one. */
  split: { inc(n?: number): void };
}

export interface CoalesceOptions {
  /** server.max_memory_bytes: merge buffers are taken from it before they are allocated. */
  memory: MemoryBudget;
  /** server.max_request_bytes now (a reload may change it). */
  maxBytes: () => number;
}

/** A request waiting for the next POST. */
interface Waiter {
  path: string;
  body: Uint8Array;
  /** The snappy block's announced (uncompressed) length and the bytes of that varint. */
  rawLen: number;
  headLen: number;
  resolve: (r: PostResult) => void;
}

/**
 * Raw snappy bodies to the datasource, fewer POSTs under load (issue 20: a POST costs ~85 us of
 * CPU whatever its size, bench/post-cost.ts). Opportunistic, no timer: a body goes out at once, as
 * it came, while fewer than RAW_POSTS_IN_FLIGHT POSTs are in flight; otherwise it waits, and when
 * a POST is answered the next one carries every body waiting for the oldest waiter's path
 * (tenant), up to MERGE_BYTES. Once MERGE_BYTES wait, a full POST goes at once whatever is in
 * flight: the limit gathers small bodies, it does not cap the throughput.
 *
 * Merging needs no recompression. A snappy block is varint(uncompressed length) + elements whose
 * copies never reach before the block's start (SnappyReader refuses any that would, and a body is
 * forwarded only once it decoded exactly: every byte read, the announced length written), so
 * varint(len1 + len2) + elements1 + elements2 is a valid block holding WriteRequest1 then
 * WriteRequest2; and two WriteRequests concatenated are one WriteRequest with both requests'
 * repeated fields (timeseries 1, metadata 3: it has no other field), in order.
 *
 * Every request gets the outcome of the POST that carried it: accepted or retryable (each sender
 * 503, as for its own POST). A merged POST refused for its data (400/409) is re-sent body by body,
 * so only the sender of the bad body gets 400 (vmagent drops a block answered 400); a merged POST
 * answered 413 is re-sent the same way and the merge size is halved from then on (the datasource's
 * -maxInsertRequestSize is lower than MERGE_BYTES: a body that fits alone must not be held back by
 * the others forever).
 *
 * Memory: the bodies are the receiver's (counted until the write returns); a merge buffer is taken
 * from server.max_memory_bytes before it is allocated (no room: the waiting bodies go one by one,
 * as they came), one per merged POST in flight, and up to `limit` of at most KEEP_BYTES are kept
 * for the next merges (still counted).
 */
export class RawCoalescer {
  private inFlight = 0;
  private readonly waiting: Waiter[] = [];
  /** Merge buffers not in use (at most `limit`, each <= KEEP_BYTES), counted in the budget. */
  private readonly free: Uint8Array[] = [];
  /** Largest merged POST now (MERGE_BYTES, halved after a 413). */
  private cap = MERGE_BYTES;
  /** Bytes of the bodies waiting (each counted as the larger of its compressed and uncompressed size). */
  private waitingBytes = 0;

  constructor(
    private readonly send: Send,
    private readonly o: CoalesceOptions,
    private readonly m: CoalesceMetrics,
    private readonly limit = RAW_POSTS_IN_FLIGHT,
  ) {}

  /** POST `body` (a snappy block that decoded exactly) to `path`, alone or with others waiting. */
  post(path: string, body: Uint8Array): Promise<PostResult> {
    if (this.inFlight < this.limit && this.waiting.length === 0) {
      this.inFlight++;
      return this.send(path, body).then(this.doneAlone, this.failedAlone);
    }
    return new Promise((resolve) => {
      // The preamble as written (a sender may pad its varint: its own length, not varintLen()).
      const rawLen = snappyDecodedLength(body);
      let headLen = 1;
      while (body[headLen - 1] >= 0x80) headLen++;
      this.waiting.push({ path, body, rawLen, headLen, resolve });
      this.waitingBytes += Math.max(rawLen, body.length);
      // A full merged POST goes at once, past the limit: the limit is there to gather small
      // bodies, not to cap the throughput at `limit` POSTs of MERGE_BYTES per round trip (with a
      // limit of 1, a datasource 100 ms away would otherwise take at most ~40 MiB/s).
      while (this.waitingBytes >= Math.min(this.cap, this.o.maxBytes())) this.start();
    });
  }

  private readonly doneAlone = (r: PostResult): PostResult => {
    this.inFlight--;
    this.pump();
    return r;
  };

  private readonly failedAlone = (e: unknown): never => {
    this.inFlight--;
    this.pump();
    throw e;
  };

  /** Start POSTs for what waits while fewer than `limit` are in flight. */
  private pump(): void {
    while (this.inFlight < this.limit && this.waiting.length > 0) this.start();
  }

  /** Send the next group (the oldest waiter and those that join it). */
  private start(): void {
    const group = this.takeGroup();
    this.inFlight++;
    // send() answers every failure as a PostResult; anything thrown is a bug, answered 503 to
    // every sender of the group rather than leaving them waiting.
    void this.sendGroup(group)
      .catch((e: unknown) => {
        const r: PostResult = { status: 0, outcome: 'retryable', reason: `internal error forwarding: ${(e as Error).message}` };
        for (const x of group) x.resolve(r);
      })
      .then(this.doneGroup);
  }

  private readonly doneGroup = (): void => {
    this.inFlight--;
    this.pump();
  };

  /**
   * The oldest waiter and the waiters after it for the same path, in order, while the merged body
   * stays within the cap and server.max_request_bytes (one body larger than that goes alone).
   */
  private takeGroup(): Waiter[] {
    const w = this.waiting;
    const path = w[0].path;
    const cap = Math.min(this.cap, this.o.maxBytes());
    const group: Waiter[] = [w[0]];
    let raw = w[0].rawLen;
    let bytes = w[0].body.length;
    let kept = 0;
    let full = false;
    for (let i = 1; i < w.length; i++) {
      const x = w[i];
      if (!full && x.path === path) {
        if (raw + x.rawLen <= cap && bytes + x.body.length <= cap) {
          group.push(x);
          raw += x.rawLen;
          bytes += x.body.length;
          continue;
        }
        full = true; // keep this path's order: nothing after it joins
      }
      w[kept++] = x;
    }
    w.length = kept;
    for (const x of group) this.waitingBytes -= Math.max(x.rawLen, x.body.length);
    return group;
  }

  /** POST a group (merged when more than one) and settle every waiter in it. */
  private async sendGroup(group: Waiter[]): Promise<void> {
    const path = group[0].path;
    if (group.length === 1) {
      group[0].resolve(await this.send(path, group[0].body));
      return;
    }
    let raw = 0;
    let elements = 0;
    for (const x of group) {
      raw += x.rawLen;
      elements += x.body.length - x.headLen;
    }
    const need = varintLen(raw) + elements;
    const buf = this.buffer(need);
    if (buf === null) {
      // No room in server.max_memory_bytes for a merge buffer: each body as it came.
      await this.alone(path, group);
      return;
    }
    let p = writeVarint(buf, 0, raw);
    for (const x of group) {
      buf.set(x.body.subarray(x.headLen), p);
      p += x.body.length - x.headLen;
    }
    let r: PostResult;
    try {
      r = await this.send(path, buf.subarray(0, need));
    } finally {
      this.release(buf);
    }
    this.m.merged.inc(group.length);
    if (r.outcome === 'rejected' || r.status === 413) {
      // Which body the datasource refused is not known: each alone, so only its sender gets 400.
      this.m.split.inc();
      if (r.status === 413) this.cap = Math.max(1, Math.floor(raw / 2));
      await this.alone(path, group);
      return;
    }
    for (const x of group) x.resolve(r);
  }

  /** POST each body of `group` on its own, together; each waiter gets its own answer. */
  private async alone(path: string, group: Waiter[]): Promise<void> {
    const results = await Promise.all(group.map((x) => this.send(path, x.body)));
    for (let i = 0; i < group.length; i++) group[i].resolve(results[i]);
  }

  /** A merge buffer of at least `n` bytes, taken from the budget if new; null when it does not fit. */
  private buffer(n: number): Uint8Array | null {
    for (let i = 0; i < this.free.length; i++) {
      const b = this.free[i];
      if (b.length < n) continue;
      this.free[i] = this.free[this.free.length - 1];
      this.free.pop();
      return b;
    }
    const size = bufferSize(n);
    if (!this.o.memory.take(size)) return null;
    return new Uint8Array(size);
  }

  /** Keep a small merge buffer for the next merge (while fewer than `limit` are kept); give back the rest. */
  private release(b: Uint8Array): void {
    if (b.length <= KEEP_BYTES && this.free.length < this.limit) {
      this.free.push(b);
      return;
    }
    this.o.memory.give(b.length);
    this.o.memory.dropped(b.length);
  }
}
