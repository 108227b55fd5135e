import { performance } from 'node:perf_hooks';
import type { WriteBatch } from '../ingest/write-request.js';
import type { Registry } from '../metrics/registry.js';
import { Prediction } from '../models/model.js';
import { InstanceCounts } from './counts.js';
import { Transform, carriedFrom, type InstanceSpec, type ScoringSpec } from './instances.js';
import { KeptLabels } from './kept-labels.js';
import { Column, OutputRows, type ScoreSink } from './output.js';
import { matches } from './selector.js';
import { SeriesKey } from './series-index.js';
import { ScoringState } from './state.js';

/**
 * The one place a sample meets a model. `score(batch, tenant, sink)` runs every sample of a
 * decoded batch through the instances (query x model) scoring its series and hands the output
 * rows to `sink`; the proxy, `anomstream replay` and bench/nab all call it, so what replay
 * shows for a file is what the proxy would write for the same samples.
 *
 * Per series of the batch: its id from the series index (hashed once per TimeSeries, matched
 * against the queries once per new series); per link of that id: the samples, through the
 * query's counter transform, into the instance's Scorer. Nothing is allocated per sample.
 * State lives in one ScoringState (index, links, model states).
 *
 * Counting per (query, model) is typed-array increments (InstanceCounts), folded into the
 * registry at scrape time; a series scoring above 1 has its Label bytes kept (KeptLabels) for
 * the status page. reload() swaps in a new spec between two score() calls, keeping the state
 * of the pairs whose settings are unchanged (see ScoringState.reshape()).
 */
export class Scoring {
  readonly state: ScoringState;
  readonly counts: InstanceCounts;
  readonly kept = new KeptLabels();
  private instances: InstanceSpec[];
  private readonly key = new SeriesKey();
  private readonly pred = new Prediction();
  private readonly out = new OutputRows();
  private readonly m: ReturnType<typeof scoringMetrics>;

  constructor(
    private spec: ScoringSpec,
    maxSeries: number,
    registry: Registry,
  ) {
    this.instances = spec.instances;
    this.state = new ScoringState(spec, maxSeries);
    this.counts = new InstanceCounts(registry, spec.instances);
    this.m = scoringMetrics(registry);
    registry.onCollect(() => {
      this.m.series.set(this.state.index.size);
      this.counts.fold(this.state);
    });
  }

  get current(): ScoringSpec {
    return this.spec;
  }

  /**
   * Score with `spec` from now on (a config reload; call between two score() calls). Instances
   * of (query, model) pairs with unchanged settings keep their model state; the others start
   * empty, and each known series is matched again against their queries on its next sample.
   * Returns, per new instance, the old one whose state it kept (-1: none).
   */
  reload(spec: ScoringSpec, maxSeries: number): Int32Array {
    this.counts.fold(this.state);
    const from = carriedFrom(this.spec, spec);
    this.state.reshape(spec, from);
    this.state.index.maxSeries = maxSeries;
    this.counts.reshape(spec.instances);
    this.spec = spec;
    this.instances = spec.instances;
    return from;
  }

  /**
   * Score every sample of `b` (whose series belong to `tenant`), writing output rows to `sink`.
   * Series are seen at `nowMs` (wall clock; idle eviction counts from it).
   */
  score(b: WriteBatch, tenant: string | null, sink: ScoreSink, nowMs = Date.now()): void {
    const t0 = performance.now();
    const seed = tenant === null ? 0 : hashString(tenant);
    const now = Math.floor(nowMs / 1000);
    const index = this.state.index;
    const links = this.state.links;
    const key = this.key;
    sink.beginBatch(b);
    let id = -1;
    for (let s = 0; s < b.seriesCount; s++) {
      index.hash(b, s, seed, key);
      id = index.findFrom(key, id + 1);
      if (id < 0) {
        id = this.newSeries(b, s, key, now, tenant, sink);
        if (id < 0) continue;
      } else {
        index.touch(id, now);
        if (this.state.matchedGen[id] !== this.state.generation) this.rematch(b, s, id, tenant, sink);
      }
      let first = true;
      for (let k = links.first[id]; k >= 0; k = links.next[k]) {
        const n = this.scoreLink(b, s, k, now);
        if (links.aboveAt[k] === now && !this.kept.has(id)) this.kept.keep(b, s, id, tenant);
        if (n === 0) continue;
        sink.rows(b, s, id, first, links.inst[k], this.out, n);
        first = false;
      }
    }
    this.m.duration.observe((performance.now() - t0) / 1000);
  }

  /** Forget series not seen for `idleMs`: they start a new warm-up if they return. Returns how many. */
  evictIdle(idleMs: number, nowMs = Date.now()): number {
    const n = this.state.evictIdle(Math.floor((nowMs - idleMs) / 1000), this.forget);
    if (n > 0) this.m.evicted.inc(n);
    return n;
  }

  private readonly forget = (id: number): void => this.kept.forget(id);

  /**
   * Run link k's model over series s's samples (scored at `now`, seconds); fills the output
   * rows, returns how many. Counts what it learnt, scored above 1 and whether the series just
   * finished its warm-up, for the link's instance.
   */
  private scoreLink(b: WriteBatch, s: number, k: number, now: number): number {
    const links = this.state.links;
    const ii = links.inst[k];
    const transform = this.instances[ii].transform;
    const scorer = this.instances[ii].scorer;
    const inst = this.state.instances[ii];
    const state = inst.state;
    const off = links.offset[k];
    const pred = this.pred;
    const first = b.smpFirst[s];
    const last = first + b.smpCount[s];
    const out = this.out;
    out.ensure(last - first);
    const cTs = out.ts;
    const cSample = out.sample;
    const cols = out.cols;
    const cScore = cols[Column.AnomalyScore];
    const cYhat = cols[Column.Yhat];
    const cLo = cols[Column.YhatLower];
    const cHi = cols[Column.YhatUpper];
    const cY = cols[Column.Y];
    let n = 0;
    let skipped = 0;
    let learned = 0;
    let above = 0;
    let maxAbove = 0;
    const wasReady = scorer.isReady(state, off);
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
      if (pred.score > 1) {
        above++;
        if (pred.score > maxAbove) maxAbove = pred.score;
      }
      cTs[n] = t;
      cSample[n] = i;
      cScore[n] = pred.score;
      cYhat[n] = pred.yhat;
      cLo[n] = pred.lower;
      cHi[n] = pred.upper;
      cY[n] = y;
      n++;
    }
    const counts = this.counts;
    counts.scored[ii] += learned;
    if (!wasReady && learned > 0 && scorer.isReady(state, off)) {
      counts.warmed[ii]++;
      inst.ready++;
    }
    if (above > 0) {
      counts.anomalous[ii] += above;
      links.aboveScore[k] = maxAbove;
      links.aboveAt[k] = now;
    }
    if (skipped) this.m.outOfOrder.inc(skipped);
    return n;
  }

  /** First sight of series s: match it against every query once, allocate model state. */
  private newSeries(b: WriteBatch, s: number, key: SeriesKey, now: number, tenant: string | null, sink: ScoreSink): number {
    const id = this.state.index.add(key, now);
    if (id < 0) {
      this.m.seriesLimit.inc();
      return -1;
    }
    const labels = labelMap(b, s);
    let first = -1;
    for (const q of this.spec.queries) if (matches(q.selector, labels)) first = this.link(q.instances, first);
    this.state.links.setFirst(id, first);
    this.state.matched(id);
    if (first >= 0) sink.seriesAdded(b, s, id, tenant, labels);
    return id;
  }

  /**
   * First sight of series s (id `id`) since a reload: match it against the queries of the
   * instances born since it was last matched (new or changed pairs, of however many reloads),
   * and give it to the sink again (the emitter was rebuilt with the new spec and plans the
   * series anew).
   */
  private rematch(b: WriteBatch, s: number, id: number, tenant: string | null, sink: ScoreSink): void {
    const labels = labelMap(b, s);
    let first = this.state.links.first[id];
    for (const q of this.spec.queries) {
      const fresh = q.instances.filter((ii) => this.state.bornSince(ii, id));
      if (fresh.length > 0 && matches(q.selector, labels)) first = this.link(fresh, first);
    }
    this.state.links.setFirst(id, first);
    this.state.matched(id);
    if (first >= 0) sink.seriesAdded(b, s, id, tenant, labels);
  }

  /** New state in each of `instances` for one series, linked in front of `first`; returns the new first link. */
  private link(instances: number[], first: number): number {
    for (const ii of instances) {
      const off = this.state.allocate(ii);
      this.instances[ii].scorer.init(this.state.instances[ii].state, off);
      first = this.state.links.add(ii, off, first);
    }
    return first;
  }
}

/** Series s's labels as strings: once per new series (and once after a reload), never per sample. */
function labelMap(b: WriteBatch, s: number): Map<string, string> {
  const labels = new Map<string, string>();
  b.labels(s);
  for (let j = b.lblFirst[s], e = j + b.lblCount[s]; j < e; j++) labels.set(b.labelName(j), b.labelValue(j));
  return labels;
}

/** FNV-1a of the tenant: the series index's seed, so one label set under two tenants is two series. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function scoringMetrics(r: Registry) {
  return {
    duration: r.histogram('anomstream_scoring_duration_seconds', 'Time to score one accepted request (match, models, generated series encoded), seconds.'),
    outOfOrder: r.counter('anomstream_samples_out_of_order_total', 'Scored-series samples not after the previous one (duplicates, retries): forwarded, not learned.'),
    nonFinite: r.counter('anomstream_samples_non_finite_total', 'NaN/Inf samples of scored series (not stale markers): forwarded, not learned.'),
    series: r.gauge('anomstream_series', 'Series in the index (scored or not).'),
    evicted: r.counter('anomstream_series_evicted_total', 'Series forgotten after limits.series_idle_timeout without a sample.'),
    seriesLimit: r.counter('anomstream_series_limit_reached_total', 'New series not scored because limits.max_series was reached.'),
  };
}
