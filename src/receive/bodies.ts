import { bufferSize } from '../wire/grow.js';

/** The memory budget the bodies are counted against (ingest's MemoryBudget). */
export interface BodyMemory {
  take(n: number): boolean;
  give(n: number): void;
}

/** Free body buffers kept: at most this many ... */
const KEEP_BUFFERS = 16;
/**
 * ... each at most this large (a typical remote write body is 20-200 KB; vmagent's blocks of
 * 10,000 rows reach several hundred KB, and at 256 KiB a 300 KB body got a fresh buffer, fresh
 * pages and external memory for V8 to account, every time: bench/recv-cost.ts, bench/RESULTS.md) ...
 */
const KEEP_BUFFER_BYTES = 1 << 20;
/** ... and at most this much in all. */
const KEEP_TOTAL_BYTES = 4 << 20;

/**
 * Buffers for request bodies, reused from one request to the next. A body used to get a fresh
 * buffer per request (~40 KB for 2,000 samples, ~400 a second at saturation): a new ArrayBuffer
 * for V8 to account and collect and fresh pages to fault in before the chunks could be copied.
 * Here a released buffer of at most KEEP_BUFFER_BYTES is kept (up to KEEP_BUFFERS of them and
 * KEEP_TOTAL_BYTES in all, the most recently used handed out first: still in cache) and the next body that fits takes it.
 *
 * Every buffer, in use or kept, is counted in the memory budget (server.max_memory_bytes) from
 * before it is allocated until it is dropped; when the budget has no room for a new one, the kept
 * buffers are dropped first, so keeping them never turns a request away.
 */
export class BodyBuffers {
  private readonly free: ArrayBuffer[] = [];
  private kept = 0;

  constructor(private readonly memory: BodyMemory) {}

  /** Bytes of the kept buffers (counted in the budget). */
  get keptBytes(): number {
    return this.kept;
  }

  /**
   * A buffer of at least `n` bytes (its contents undefined), taken from the budget; null when the
   * budget has no room for it. Give it back with release().
   */
  take(n: number): Buffer | null {
    for (let i = this.free.length - 1; i >= 0; i--) {
      const b = this.free[i];
      if (b.byteLength < n) continue;
      this.free.splice(i, 1);
      this.kept -= b.byteLength;
      return Buffer.from(b);
    }
    const size = n === 0 ? 0 : bufferSize(n);
    if (!this.memory.take(size)) {
      this.dropKept();
      if (!this.memory.take(size)) return null;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** `body` (or any view of a buffer take() gave) is no longer used: kept for the next body, or its bytes go back to the budget. */
  release(body: Uint8Array): void {
    const b = body.buffer as ArrayBuffer;
    if (b.byteLength === 0) return;
    if (b.byteLength <= KEEP_BUFFER_BYTES && this.free.length < KEEP_BUFFERS && this.kept + b.byteLength <= KEEP_TOTAL_BYTES) {
      this.free.push(b);
      this.kept += b.byteLength;
    } else this.memory.give(b.byteLength);
  }

  /** Drop the kept buffers (their bytes go back to the budget). */
  dropKept(): void {
    for (const b of this.free) this.memory.give(b.byteLength);
    this.free.length = 0;
    this.kept = 0;
  }
}
