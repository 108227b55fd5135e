/**
 * Heap bytes a stretch of code allocates (garbage included): the used heap's growth plus what every
 * GC in between freed (v8.GCProfiler's before/after statistics). A boxed double (HeapNumber) is 16
 * bytes, so bytes per sample / 16 counts the doubles boxed per sample on the hot path. Used by
 * bench/inproc.ts and bench/model-loop.ts.
 */
import { GCProfiler, getHeapStatistics } from 'node:v8';

export class HeapBytes {
  private readonly gc = new GCProfiler();
  private used0 = 0;

  start(): void {
    this.gc.start();
    this.used0 = getHeapStatistics().used_heap_size;
  }

  /** Bytes allocated since start(). */
  stop(): number {
    const used1 = getHeapStatistics().used_heap_size;
    let freed = 0;
    for (const e of this.gc.stop().statistics) freed += e.beforeGC.heapStatistics.usedHeapSize - e.afterGC.heapStatistics.usedHeapSize;
    return used1 - this.used0 + freed;
  }
}
