/**
 * The clock idle eviction counts in: wall-clock time during which the datasource was up.
 *
 * A series is "seen" when a request holding it is accepted downstream, so while the datasource
 * fails no series is seen; counting that time as idle would evict every model after an outage
 * longer than limits.series_idle_timeout (issue 16: 8 s of 503 with a 4 s timeout evicted all).
 * This clock stops while the datasource is down (its last raw forward failed as retryable) and
 * resumes where it stopped, so a model is evicted only for the silence of its own series.
 *
 *   at(t) = t - (time spent down before t)
 */
export class UpClock {
  /** Wall-clock ms the datasource went down, or -1 while it is up. */
  private downSince = -1;
  /** Total ms spent down in finished outages. */
  private downMs = 0;

  /** The clock's reading at wall-clock time `wallMs` (ms). Never goes backwards while wallMs does not. */
  at(wallMs: number): number {
    return wallMs - this.downMs - (this.downSince >= 0 && wallMs > this.downSince ? wallMs - this.downSince : 0);
  }

  /** The datasource failed at `wallMs` (a retryable raw forward failure); the clock stops. */
  down(wallMs: number): void {
    if (this.downSince < 0) this.downSince = wallMs;
  }

  /** The datasource accepted a request at `wallMs`; the clock runs again. */
  up(wallMs: number): void {
    if (this.downSince < 0) return;
    if (wallMs > this.downSince) this.downMs += wallMs - this.downSince;
    this.downSince = -1;
  }
}
