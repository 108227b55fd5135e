/**
 * Processing slots for writes (server.max_in_flight), taken only once a request's body is in
 * memory, so a slow sender holds a connection, never a slot. A write that finds every slot busy
 * waits, first come first served, up to server.max_queue_duration (as VictoriaMetrics'
 * -maxConcurrentInserts with -insert.maxQueueDuration), then is answered 503 + Retry-After.
 */
export class Slots {
  /** Slots taken. */
  active = 0;
  private readonly waiting: Waiter[] = [];
  /** waiting[head] is the oldest live waiter (shift() is O(n); a head index keeps it O(1)). */
  private head = 0;
  /** Waiters neither served nor timed out. */
  private live = 0;

  constructor(
    /** server.max_in_flight; a reload may change it (slots taken above a lower one are given back as usual). */
    public max: number,
    private readonly maxWaitMs: number,
  ) {}

  /** Writes waiting for a slot. */
  get queued(): number {
    return this.live;
  }

  /** Take a slot now if one is free. */
  tryAcquire(): boolean {
    if (this.active >= this.max || this.queued > 0) return false;
    this.active++;
    return true;
  }

  /** Wait for a slot: true once it is yours, false after maxWaitMs (nothing taken). */
  wait(): Promise<boolean> {
    return new Promise((resolve) => {
      const w: Waiter = { resolve, timer: undefined as unknown as NodeJS.Timeout, done: false };
      w.timer = setTimeout(() => {
        w.done = true;
        this.live--;
        resolve(false);
        this.compact();
      }, this.maxWaitMs);
      this.waiting.push(w);
      this.live++;
    });
  }

  /** Give a slot back: handed to the oldest waiter, if any. */
  release(): void {
    while (this.head < this.waiting.length) {
      const w = this.waiting[this.head++];
      if (w.done) continue;
      w.done = true;
      this.live--;
      clearTimeout(w.timer);
      this.compact();
      w.resolve(true); // the slot changes hands: active stays the same
      return;
    }
    this.compact();
    this.active--;
  }

  /** Drop timed-out waiters at the head and, once the head is far in, the consumed part of the array. */
  private compact(): void {
    while (this.head < this.waiting.length && this.waiting[this.head].done) this.head++;
    if (this.head === this.waiting.length) {
      this.waiting.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }
}

interface Waiter {
  resolve: (got: boolean) => void;
  timer: NodeJS.Timeout;
  done: boolean;
}
