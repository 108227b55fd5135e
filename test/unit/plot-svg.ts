/**
 * Test oracle for src/replay/plot.ts: a small strict XML parser (written here, independent of the
 * renderer) and readers that turn the picture back into numbers: each panel's axis as the test
 * understands it, path vertices, marks, windows, ticks. Strict means it throws on anything that is
 * not well-formed XML: an unmatched or unclosed tag, an unquoted or repeated attribute, a raw `<`
 * or an unknown entity in text, text outside the root.
 */
import assert from 'node:assert/strict';
import { PlotInput } from '../../src/replay/plot.js';

export interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string, at: number): string {
  return s.replace(/&([^;]*);|&/g, (m, name: string | undefined) => {
    if (name === undefined) throw new Error(`xml: bare '&' near ${at}`);
    if (name in ENTITIES) return ENTITIES[name];
    const num = /^#(x[0-9a-fA-F]+|[0-9]+)$/.exec(name);
    if (num) return String.fromCodePoint(num[1][0] === 'x' ? parseInt(num[1].slice(1), 16) : Number(num[1]));
    throw new Error(`xml: unknown entity &${name}; near ${at}`);
  });
}

export function parseXml(src: string): El {
  let pos = 0;
  const stack: El[] = [];
  let root: El | undefined;
  const NAME = /[A-Za-z_][\w.:-]*/y;
  const name = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(src);
    if (!m) throw new Error(`xml: expected a name at ${pos}`);
    pos += m[0].length;
    return m[0];
  };
  const ws = (): void => {
    while (pos < src.length && /\s/.test(src[pos])) pos++;
  };
  if (src.startsWith('<?xml')) {
    const end = src.indexOf('?>');
    if (end < 0) throw new Error('xml: unclosed declaration');
    pos = end + 2;
  }
  while (pos < src.length) {
    const lt = src.indexOf('<', pos);
    const text = src.slice(pos, lt < 0 ? src.length : lt);
    if (text.trim() !== '') {
      if (stack.length === 0) throw new Error(`xml: text outside the root at ${pos}`);
      if (text.includes(']]>')) throw new Error(`xml: ']]>' in text at ${pos}`);
      stack[stack.length - 1].text += decode(text, pos);
    }
    if (lt < 0) break;
    pos = lt;
    if (src.startsWith('<!--', pos)) {
      const end = src.indexOf('-->', pos);
      if (end < 0) throw new Error('xml: unclosed comment');
      pos = end + 3;
    } else if (src.startsWith('<![CDATA[', pos)) {
      const end = src.indexOf(']]>', pos);
      if (end < 0 || stack.length === 0) throw new Error('xml: bad CDATA');
      stack[stack.length - 1].text += src.slice(pos + 9, end);
      pos = end + 3;
    } else if (src.startsWith('</', pos)) {
      pos += 2;
      const n = name();
      ws();
      if (src[pos] !== '>') throw new Error(`xml: expected '>' at ${pos}`);
      pos++;
      const open = stack.pop();
      if (!open || open.name !== n) throw new Error(`xml: </${n}> closes <${open?.name}> at ${pos}`);
    } else {
      pos++;
      const el: El = { name: name(), attrs: {}, children: [], text: '' };
      for (;;) {
        const before = pos;
        ws();
        if (src.startsWith('/>', pos) || src[pos] === '>') break;
        if (pos === before) throw new Error(`xml: expected whitespace before an attribute at ${pos}`);
        const a = name();
        ws();
        if (src[pos] !== '=') throw new Error(`xml: expected '=' after ${a} at ${pos}`);
        pos++;
        ws();
        const q = src[pos];
        if (q !== '"' && q !== "'") throw new Error(`xml: unquoted attribute ${a} at ${pos}`);
        const end = src.indexOf(q, pos + 1);
        const raw = src.slice(pos + 1, end);
        if (end < 0 || raw.includes('<')) throw new Error(`xml: bad value of ${a} at ${pos}`);
        if (a in el.attrs) throw new Error(`xml: repeated attribute ${a} at ${pos}`);
        el.attrs[a] = decode(raw, pos);
        pos = end + 1;
      }
      if (stack.length > 0) stack[stack.length - 1].children.push(el);
      else if (root) throw new Error(`xml: a second root <${el.name}> at ${pos}`);
      else root = el;
      if (src.startsWith('/>', pos)) pos += 2;
      else {
        pos++;
        stack.push(el);
      }
    }
  }
  if (stack.length > 0) throw new Error(`xml: <${stack[stack.length - 1].name}> not closed`);
  if (!root) throw new Error('xml: no root element');
  return root;
}

/** Every element below `e` (depth first) that `pred` accepts. */
export function findAll(e: El, pred: (x: El) => boolean, out: El[] = []): El[] {
  for (const c of e.children) {
    if (pred(c)) out.push(c);
    findAll(c, pred, out);
  }
  return out;
}

export const hasClass =
  (c: string) =>
  (e: El): boolean =>
    (e.attrs.class ?? '').split(' ').includes(c);
export const num = (e: El, a: string): number => {
  const v = e.attrs[a];
  assert.ok(v !== undefined, `<${e.name}> has no ${a}`);
  return Number(v);
};

/** A panel's value axis as documented in plot.ts (linear, or linear to log-from then log10), clamped. */
export function axisOf(panel: El): (v: number) => number {
  const lo = num(panel, 'as:lo');
  const hi = num(panel, 'as:hi');
  const px0 = num(panel, 'as:px0');
  const px1 = num(panel, 'as:px1');
  const logFrom = panel.attrs['as:log-from'] === undefined ? Infinity : Number(panel.attrs['as:log-from']);
  const share = panel.attrs['as:linear-share'] === undefined ? 1 : Number(panel.attrs['as:linear-share']);
  return (v: number): number => {
    let f: number;
    if (Number.isNaN(v)) throw new Error('axis of NaN');
    if (v <= lo) f = 0;
    else if (v >= hi) f = 1;
    else if (v <= logFrom) f = ((v - lo) / (Math.min(logFrom, hi) - lo)) * share;
    else f = share + ((1 - share) * Math.log(v / logFrom)) / Math.log(hi / logFrom);
    return px0 + (px1 - px0) * f;
  };
}

/** Subpaths of a path's `d` (M/L/Z, absolute) as lists of [x, y]. */
export function subpaths(d: string): Array<Array<[number, number]>> {
  const out: Array<Array<[number, number]>> = [];
  const re = /([MLZ])\s*(?:(-?[\d.]+)\s+(-?[\d.]+))?/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(d))) {
    end = re.lastIndex;
    if (m[1] === 'Z') continue;
    assert.ok(m[2] !== undefined, `path command ${m[1]} without coordinates`);
    if (m[1] === 'M') out.push([]);
    assert.ok(out.length > 0, 'path does not start with M');
    out[out.length - 1].push([Number(m[2]), Number(m[3])]);
  }
  assert.equal(end, d.length, `unparsed path data at ${end}: '${d.slice(end, end + 20)}'`);
  return out;
}

const SI: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18, µ: 1e-6, n: 1e-9 };

/** A tick label back to its number: `−1.5k`, `250µ`, `1.8e308`. */
export function parseLabel(s: string): number {
  const m = /^(−?)(\d+(?:\.\d+)?(?:e−?\d+)?)([kMGTPEµn]?)$/.exec(s);
  assert.ok(m, `tick label '${s}' is not a compact number`);
  return (m[1] ? -1 : 1) * Number(m[2].replace('−', '-')) * SI[m[3]];
}

/** Reads a rendered picture back and checks it against its columns; returns the parsed root. */
export function checkPicture(svg: string, p: PlotInput): El {
  const root = parseXml(svg);
  assert.equal(root.name, 'svg');
  assert.equal(root.attrs.xmlns, 'http://www.w3.org/2000/svg');
  assert.equal(root.attrs.version, '1.1');
  assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(svg), 'no external reference');
  const n = p.ts.length;
  const [t0, t1, x0, x1] = ['as:t0', 'as:t1', 'as:x0', 'as:x1'].map((a) => num(root, a));
  assert.ok(t0 <= p.ts[0] && t1 >= p.ts[n - 1]);
  const xOf = (t: number): number => x0 + ((t - t0) / (t1 - t0)) * (x1 - x0);
  const panels = findAll(root, hasClass('panel'));
  const values = panels.find((e) => e.attrs.id === 'values');
  const scorePanel = panels.find((e) => e.attrs.id === 'score');
  assert.ok(values && scorePanel);
  const vAxis = axisOf(values);
  const sAxis = axisOf(scorePanel);
  const threshold = p.threshold ?? 1;

  // y and yhat always fit the value axis (the band may be clamped at its edge).
  const ext = (v: ArrayLike<number>): [number, number] => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) continue;
      lo = Math.min(lo, v[i]);
      hi = Math.max(hi, v[i]);
    }
    return [lo, hi];
  };
  for (const col of [p.y, p.yhat]) {
    const [lo, hi] = ext(col);
    if (lo > hi) continue;
    assert.ok(num(values, 'as:lo') <= lo && num(values, 'as:hi') >= hi, `value axis [${values.attrs['as:lo']}, ${values.attrs['as:hi']}] holds [${lo}, ${hi}]`);
  }

  // Series: extremes drawn at the data's extremes; every vertex is a data point; one subpath per run.
  const series: Array<[El, string, ArrayLike<number>, (v: number) => number]> = [
    [values, 'y', p.y, vAxis],
    [values, 'yhat', p.yhat, vAxis],
    [values, 'yhat_lower', p.lower, vAxis],
    [values, 'yhat_upper', p.upper, vAxis],
    [scorePanel, 'anomaly_score', p.score, sAxis],
  ];
  for (const [panel, name, v, axis] of series) {
    const path = findAll(panel, (e) => e.name === 'path' && e.attrs['as:series'] === name);
    assert.equal(path.length, 1, `one path for ${name}`);
    const subs = subpaths(path[0].attrs.d);
    const [lo, hi] = ext(v);
    if (lo > hi) {
      assert.equal(subs.length, 0, `${name}: nothing drawn without data`);
      continue;
    }
    const ys = subs.flat().map(([, y]) => y);
    const drawn = [Math.min(...ys), Math.max(...ys)];
    const want = [axis(lo), axis(hi)].sort((a, b) => a - b);
    assert.ok(Math.abs(drawn[0] - want[0]) <= 0.051 && Math.abs(drawn[1] - want[1]) <= 0.051, `${name}: extremes drawn at ${drawn}, data ${lo}..${hi} maps to ${want}`);
    const vertices = subs.reduce((k, s) => k + s.length, 0);
    assert.ok(vertices <= 4 * (x1 - x0) + 2 * subs.length, `${name}: ${vertices} vertices for ${x1 - x0} px`);
    assert.equal(subs.length, runs(p.ts, v), `${name}: one subpath per run of finite values`);
    for (const s of subs) {
      if (s.length === 1) assert.fail(`${name}: a subpath of one vertex draws nothing`);
      for (const [x, y] of s) assert.ok(onData(p.ts, v, xOf, axis, x, y), `${name}: vertex ${x},${y} is no data point`);
    }
  }

  // Marks: exactly the rows above the threshold, in both panels, where their values are.
  const above = new Set<number>();
  for (let i = 0; i < n; i++) if (p.score[i] > threshold) above.add(i);
  for (const [panel, v, axis, perColumn] of [
    [scorePanel, p.score, sAxis, true],
    [values, p.y, vAxis, false],
  ] as const) {
    const seen = new Set<number>();
    for (const m of findAll(panel, (e) => e.name === 'circle' && hasClass('mark')(e))) {
      const rows = m.attrs['as:rows'].split(',').map(Number);
      const cx = num(m, 'cx');
      const cy = num(m, 'cy');
      for (const r of rows) {
        assert.ok(above.has(r), `row ${r} marked but scores ${p.score[r]}`);
        assert.ok(!seen.has(r), `row ${r} marked twice`);
        seen.add(r);
        assert.ok(Math.abs(xOf(p.ts[r]) - cx) <= 1.05, `row ${r}: mark at x ${cx}, row at ${xOf(p.ts[r])}`);
        if (!perColumn) assert.ok(Math.abs(axis(v[r]) - cy) <= 0.55, `row ${r}: mark at y ${cy}, value at ${axis(v[r])}`);
      }
      if (perColumn) assert.ok(Math.abs(axis(Math.max(...rows.map((r) => v[r]))) - cy) <= 0.051, `score mark at ${cy}`);
    }
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [...above].filter((r) => perColumn || Number.isFinite(p.y[r])).sort((a, b) => a - b),
    );
  }
  const thr = findAll(scorePanel, hasClass('threshold'));
  assert.equal(thr.length, 1);
  assert.ok(Math.abs(num(thr[0], 'y1') - sAxis(threshold)) <= 0.051);

  // Windows: shaded from start to end (clipped to the time axis) in both panels.
  const inRange = (p.windows ?? []).filter(([a, b]) => b >= t0 && a <= t1);
  for (const panel of [values, scorePanel]) {
    const rects = findAll(panel, hasClass('window'));
    assert.equal(rects.length, inRange.length);
    rects.forEach((r, k) => {
      const [a, b] = inRange[k];
      assert.equal(num(r, 'as:start'), a);
      assert.ok(Math.abs(num(r, 'x') - xOf(Math.max(a, t0))) <= 0.051);
      assert.ok(Math.abs(num(r, 'x') + num(r, 'width') - Math.max(xOf(Math.min(b, t1)), num(r, 'x') + 1)) <= 0.11);
      assert.ok(Math.abs(num(r, 'y') - Math.min(num(panel, 'as:px1'), num(panel, 'as:px0'))) <= 0.051);
    });
  }

  // Value ticks: labels say their value, increasing upwards, inside the panel.
  for (const [panel, axis] of [
    [values, vAxis],
    [scorePanel, sAxis],
  ] as const) {
    const ticks = findAll(panel, (e) => e.name === 'text' && hasClass('tick')(e));
    assert.ok(ticks.length >= 3, 'at least 3 value ticks');
    let prevV = -Infinity;
    let prevY = Infinity;
    for (const tk of ticks) {
      const v = num(tk, 'as:v');
      const label = parseLabel(tk.text);
      assert.ok(Math.abs(label - v) <= Math.abs(v) * 1e-9 + 1e-12 || Math.abs(label - v) < Math.abs(v - prevV) * 1e-6, `label '${tk.text}' for ${v}`);
      const y = num(tk, 'y') - 4;
      assert.ok(v > prevV && y < prevY, 'ticks increase upwards');
      assert.ok(Math.abs(y - axis(v)) <= 0.11, `tick ${v} at ${y}, axis says ${axis(v)}`);
      assert.ok(y >= num(panel, 'as:px1') - 0.11 && y <= num(panel, 'as:px0') + 0.11, `tick ${v} inside the panel`);
      prevV = v;
      prevY = y;
    }
  }

  // Time ticks: UTC labels of their own time, increasing, inside the plot.
  const xt = findAll(root, hasClass('xtick'));
  assert.ok(xt.length >= 3, `${xt.length} time ticks`);
  let prevT = -Infinity;
  for (const g of xt) {
    const t = num(g, 'as:t');
    const iso = new Date(t).toISOString();
    assert.ok(t > prevT && t >= t0 && t <= t1);
    prevT = t;
    const x = num(g.children[0], 'x1');
    assert.ok(Math.abs(x - xOf(t)) <= 0.051 && x >= x0 && x <= x1);
    const [label, ctx] = g.children.filter((e) => e.name === 'text').map((e) => e.text);
    assert.ok([iso.slice(11, 16), iso.slice(11, 19), iso.slice(0, 10), iso.slice(0, 7), iso.slice(0, 4)].includes(label), `time label '${label}' for ${iso}`);
    if (ctx !== undefined) assert.equal(ctx, iso.slice(0, 10));
  }
  return root;
}

/** Runs of finite values, split also where consecutive finite points are further apart than plot.ts joins. */
function runs(ts: ArrayLike<number>, v: ArrayLike<number>): number {
  const d: number[] = [];
  for (let i = 1; i < ts.length; i++) if (ts[i] > ts[i - 1]) d.push(ts[i] - ts[i - 1]);
  d.sort((a, b) => a - b);
  const gap = Math.max(10 * d[d.length >> 1], (ts[ts.length - 1] - ts[0]) / 100);
  let k = 0;
  let lastT = NaN;
  let open = false;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      open = false;
      continue;
    }
    if (!open || ts[i] - lastT > gap) k++;
    open = true;
    lastT = ts[i];
  }
  return k;
}

/** True when some row's (x, value) is drawn at (x, y), to the picture's 0.1 px (rows in any time order). */
function onData(ts: ArrayLike<number>, v: ArrayLike<number>, xOf: (t: number) => number, axis: (v: number) => number, x: number, y: number): boolean {
  const order = byTime(ts);
  let a = 0;
  let b = order.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (xOf(ts[order[m]]) < x - 0.051) a = m + 1;
    else b = m;
  }
  for (let k = a; k < order.length && xOf(ts[order[k]]) <= x + 0.051; k++) {
    const i = order[k];
    if (Number.isFinite(v[i]) && Math.abs(axis(v[i]) - y) <= 0.051) return true;
  }
  return false;
}

const orders = new WeakMap<object, Uint32Array>();
/** Row indices sorted by timestamp (cached per column). */
function byTime(ts: ArrayLike<number>): Uint32Array {
  let o = orders.get(ts as object);
  if (!o) {
    o = Uint32Array.from({ length: ts.length }, (_, i) => i).sort((i, j) => ts[i] - ts[j]);
    orders.set(ts as object, o);
  }
  return o;
}
