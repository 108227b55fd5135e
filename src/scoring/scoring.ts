import type { WriteBatch } from '../ingest/write-request.js';
import type { Registry } from '../metrics/registry.js';
import { Prediction } from '../models/model.js';
import { Transform, type InstanceSpec, type ScoringSpec } from './instances.js';
import { Column, OutputRows, RowRuns, type ScoreSink } from './output.js';
import { matches } from './selector.js';
import { SeriesKey } from './series-index.js';
import { ScoringState } from './state.js';
import { grown } from '../wire/grow.js';

/**
 * The one place a sample meets a model. `score(batch, tenant, sink)` runs every sample of a
 * decoded batch through the instances (query x model) scoring its series and hands the output
 * rows to `sink`; the proxy, `anomstream replay` and bench/nab all call it, so what replay
 * shows for a file is what the proxy would write for the same samples.
 *
 * Per series of the batch: its id from the series index (hashed once per TimeSeries, matched
 * against the queries once per new series); per link of that id: the samples, through the
 * query's counter transform, into the instance's Scorer. Nothing is allocated per sample.
 * Two passes: every series of the batch is scored first (its rows appended to one OutputRows),
 * then the rows go to the sink. Interleaved (score a series, encode its rows, next series) the
 * same work measured ~20% slower in process (bench/inproc: model and encoder each evict the
 * other's code and branch history from the core, series after series).
 * State lives in one ScoringState (index, links, model states).
 */
export class Scoring {
  readonly state: ScoringState;
  private readonly instances: InstanceSpec[];
  private readonly key = new SeriesKey();
  private readonly pred = new Prediction();
  private readonly out = new OutputRows();
  private readonly rows = new RowRuns();
  /** Per series of the batch: its id (-1: not tracked). */
  private ids = new Int32Array(1024);
  private readonly m: ReturnType<typeof scoringMetrics>;

  constructor(
    private readonly spec: ScoringSpec,
    maxSeries: number,
    registry: Registry,
  ) {
    this.instances = spec.instances;
    this.state = new ScoringState(spec, maxSeries);
    this.m = scoringMetrics(registry);
    registry.onCollect(() => {
      this.m.series.set(this.state.index.size);
      this.m.scoredSeries.set(this.state.links.live);
    });
  }

  /**
   * Score every sample of `b` (whose series belong to `tenant`), writing output rows to `sink`.
   * Series are seen at `nowMs` (wall clock; idle eviction counts from it).
   */
  score(b: WriteBatch, tenant: string | null, sink: ScoreSink, nowMs = Date.now()): void {
    const seed = tenant === null ? 0 : hashString(tenant);
    const now = Math.floor(nowMs / 1000);
    const index = this.state.index;
    const links = this.state.links;
    const key = this.key;
    const rows = this.rows;
    sink.beginBatch(b);
    rows.count = 0;
    let from = 0;
    const ids = (this.ids = grown(this.ids, b.seriesCount));
    let id = -1;
    try {
      // Series ids first (hash, index), then the models: each loop's code stays hot in the core.
      for (let s = 0; s < b.seriesCount; s++) {
        index.hash(b, s, seed, key);
        id = index.findFrom(key, id + 1);
        if (id < 0) id = this.newSeries(b, s, key, now, tenant, sink);
        else index.touch(id, now);
        ids[s] = id;
      }
      for (let s = 0; s < b.seriesCount; s++) {
        const id = ids[s];
        if (id < 0) continue;
        let first = true;
        for (let k = links.first[id]; k >= 0; k = links.next[k]) {
          const n = this.scoreLink(b, s, k, from);
          if (n === 0) continue;
          rows.add(s, id, first, links.inst[k], from, n);
          from += n;
          first = false;
        }
      }
    } finally {
      // Second pass: the rows to the sink (what was scored, even if a later series threw).
      const out = this.out;
      for (let r = 0; r < rows.count; r++) sink.rows(b, rows.series[r], rows.id[r], rows.first[r] === 1, rows.inst[r], out, rows.from[r], rows.n[r]);
    }
  }

  /** Forget series not seen for `idleMs`: they start a new warm-up if they return. Returns how many. */
  evictIdle(idleMs: number, nowMs = Date.now()): number {
    const n = this.state.evictIdle(Math.floor((nowMs - idleMs) / 1000));
    if (n > 0) this.m.evicted.inc(n);
    return n;
  }

  /** Run link k's model over series s's samples; fills the output rows from row `from` on, returns how many. */
  private scoreLink(b: WriteBatch, s: number, k: number, from: number): number {
    const links = this.state.links;
    const ii = links.inst[k];
    const transform = this.instances[ii].transform;
    const scorer = this.instances[ii].scorer;
    const state = this.state.instances[ii].state;
    const off = links.offset[k];
    const pred = this.pred;
    const first = b.smpFirst[s];
    const last = first + b.smpCount[s];
    const out = this.out;
    out.reserve(from + last - first);
    const cTs = out.ts;
    const cSample = out.sample;
    const cols = out.cols;
    const cScore = cols[Column.AnomalyScore];
    const cYhat = cols[Column.Yhat];
    const cLo = cols[Column.YhatLower];
    const cHi = cols[Column.YhatUpper];
    const cY = cols[Column.Y];
    let n = from;
    let skipped = 0;
    let learned = 0;
    for (let i = first; i < last; i++) {
      let y = b.value[i];
      const t = b.ts[i];
      if (t < 0) {
        skipped++; // before 1970: forwarded, not scored (and not encodable as a varint)
        continue;
      }
      if (y - y !== 0) {
        // NaN or ±Inf: forwarded raw, never learned. A stale marker ends the generated series too.
        if (b.stale[i] === 1 && scorer.isReady(state, off)) {
          cTs[n] = t;
          cSample[n] = i;
          cScore[n] = cYhat[n] = cLo[n] = cHi[n] = cY[n] = NaN;
          n++;
        } else if (b.stale[i] === 0) this.m.nonFinite.inc();
        continue;
      }
      if (transform !== Transform.None) {
        const pt = links.prevTs[k];
        const pv = links.prevValue[k];
        if (!(t > pt)) {
          if (pt !== pt) {
            links.prevTs[k] = t;
            links.prevValue[k] = y;
          } else skipped++;
          continue;
        }
        const inc = y >= pv ? y - pv : y; // a drop is a counter reset: it restarted from 0
        links.prevTs[k] = t;
        links.prevValue[k] = y;
        y = transform === Transform.Rate ? inc / ((t - pt) / 1000) : inc;
      }
      if (!scorer.update(state, off, t, y, pred)) {
        skipped++;
        continue;
      }
      learned++;
      if (!pred.ready) continue;
      cTs[n] = t;
      cSample[n] = i;
      cScore[n] = pred.score;
      cYhat[n] = pred.yhat;
      cLo[n] = pred.lower;
      cHi[n] = pred.upper;
      cY[n] = y;
      n++;
    }
    this.m.scored.inc(learned);
    if (skipped) this.m.outOfOrder.inc(skipped);
    return n - from;
  }

  /** First sight of series s: match it against every query once, allocate model state. */
  private newSeries(b: WriteBatch, s: number, key: SeriesKey, now: number, tenant: string | null, sink: ScoreSink): number {
    const id = this.state.index.add(key, now);
    if (id < 0) {
      this.m.seriesLimit.inc();
      return -1;
    }
    const labels = new Map<string, string>();
    b.labels(s);
    for (let j = b.lblFirst[s], e = j + b.lblCount[s]; j < e; j++) labels.set(b.labelName(j), b.labelValue(j));
    let first = -1;
    for (const q of this.spec.queries) {
      if (!matches(q.selector, labels)) continue;
      for (const ii of q.instances) {
        const off = this.state.allocate(ii);
        this.instances[ii].scorer.init(this.state.instances[ii].state, off);
        first = this.state.links.add(ii, off, first);
      }
    }
    this.state.links.setFirst(id, first);
    if (first >= 0) sink.seriesAdded(b, s, id, tenant, labels);
    return id;
  }
}

/** FNV-1a of the tenant: the series index's seed, so one label set under two tenants is two series. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function scoringMetrics(r: Registry) {
  return {
    scored: r.counter('anomstream_samples_scored_total', 'Samples learnt by a model (per model: a sample of a query with two models counts twice).'),
    outOfOrder: r.counter('anomstream_samples_out_of_order_total', 'Scored-series samples not after the previous one (duplicates, retries): forwarded, not learned.'),
    nonFinite: r.counter('anomstream_samples_non_finite_total', 'NaN/Inf samples of scored series (not stale markers): forwarded, not learned.'),
    series: r.gauge('anomstream_series', 'Series in the index (scored or not).'),
    scoredSeries: r.gauge('anomstream_scored_series', 'Series x model pairs with model state.'),
    evicted: r.counter('anomstream_series_evicted_total', 'Series forgotten after limits.series_idle_timeout without a sample.'),
    seriesLimit: r.counter('anomstream_series_limit_reached_total', 'New series not scored because limits.max_series was reached.'),
  };
}
