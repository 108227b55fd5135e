/**
 * At most one log line per `everyMs` for one kind of event: a million failing requests or
 * series must not mean a million log lines. `take()` says whether to log now and how many
 * occurrences were suppressed since the last line (those are still counted in metrics).
 */
export class Throttle {
  private last = -Infinity;
  private skipped = 0;

  constructor(
    private readonly everyMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** -1: stay quiet; otherwise log now, the value being the suppressed count. */
  take(): number {
    const t = this.now();
    if (t - this.last < this.everyMs) {
      this.skipped++;
      return -1;
    }
    this.last = t;
    const n = this.skipped;
    this.skipped = 0;
    return n;
  }
}
