import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { modelEntry, MODEL_CLASSES, ModelConfig } from '../config/models.js';
import { parseInput } from './input.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { compileScoring, type QueryConfig } from '../scoring/instances.js';
import { scoreSeries, type OfflineScores } from './offline.js';
import { writePlot } from './plot-output.js';

/**
 * `anomstream replay --input FILE [--config FILE] [--query ALIAS] [--model NAME] [--output FILE] [--plot OUT.svg [--labels WINDOWS.json]]`
 *
 * Scores a CSV (`timestamp,value`) or VictoriaMetrics export JSON lines through the scoring
 * unit the proxy runs (scoring/scoring.ts, each input series as a new series): the same
 * transform, warm-up and per-query settings, so the output is what the proxy would write for
 * these samples. Output (stdout without --output): a CSV
 * `timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score` (plus `y`, the value the model
 * saw, when the query has a transform), one row per input row in input order; rows the proxy
 * writes nothing for (warm-up, NaN/Inf values, timestamps not after the previous one, the first
 * sample under a transform) have empty prediction columns and score 0.
 * Without --config the default model (`auto`) is used; `--model` names a model alias of the
 * config's `models:` section, or, without --config, a model class with its defaults. `--query`
 * names a query of a whole config (its transform and per-query settings apply; its selector
 * does not); a config with one query uses it.
 * `--plot` draws the (first) series, its prediction and score as an SVG picture (./plot.ts), with the
 * labelled windows of `--labels`; the CSV then goes only to `--output`.
 * Exit codes: 0 done, 1 bad input rows (each reported with its line number), 2 usage/config.
 */
const USAGE = 'usage: anomstream replay --input FILE [--config FILE] [--query ALIAS] [--model NAME] [--output FILE] [--plot OUT.svg [--labels WINDOWS.json]]';
/** Every input series is scored (the query's selector is not applied offline). */
const ANY_SERIES = '{__name__=~".+"}';

export async function runReplay(argv: string[]): Promise<number> {
  const opt: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(input|config|query|model|output|plot|labels)(?:=(.*))?$/.exec(a);
    if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    }
    if (!m) return fail(`replay: unknown argument '${a}'\n${USAGE}`);
    const v = m[2] ?? argv[++i];
    if (v === undefined) return fail(`replay: --${m[1]} needs a value\n${USAGE}`);
    opt[m[1]] = v;
  }
  if (!opt.input) return fail(`replay: --input is required\n${USAGE}`);
  if (opt.labels && !opt.plot) return fail(`replay: --labels needs --plot\n${USAGE}`);

  let cfg: ModelConfig;
  let query: QueryConfig | undefined;
  try {
    if (opt.query !== undefined && opt.config === undefined) throw new Error(`replay: --query needs --config\n${USAGE}`);
    ({ model: cfg, query } = opt.config ? await fromConfig(opt.config, opt.model, opt.query) : { model: modelFromName(opt.model), query: undefined });
  } catch (e) {
    return fail((e as Error).message);
  }

  let text: string;
  try {
    text = readFileSync(opt.input, 'utf8');
  } catch (e) {
    return fail(`replay: --input: cannot read '${opt.input}': ${(e as Error).message}`);
  }
  const parsed = parseInput(text);
  if (parsed.errors.length > 0) {
    const shown = parsed.errors.slice(0, 20);
    if (parsed.errors.length > shown.length) shown.push(`... and ${parsed.errors.length - shown.length} more bad rows`);
    process.stderr.write(shown.map((e) => `replay: ${opt.input}: ${e}`).join('\n') + '\n');
    return 1;
  }

  const q: QueryConfig = { ...(query ?? { transform: 'none' }), expr: ANY_SERIES };
  const spec = compileScoring({ replay: q }, { model: { ...cfg, queries: undefined } });
  const withY = q.transform !== 'none';
  const rows: string[] = [`timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score${withY ? ',y' : ''}`];
  let first: OfflineScores | undefined;
  for (const s of parsed.series) {
    const r = scoreSeries(spec, { __name__: 'replay' }, s.ts, s.value);
    first ??= r;
    for (let i = 0; i < s.ts.length; i++) {
      const y = withY ? (r.scored[i] ? `,${r.y[i]}` : ',') : '';
      rows.push(r.scored[i] ? `${s.stamps[i]},${s.value[i]},${r.yhat[i]},${r.lower[i]},${r.upper[i]},${r.score[i]}${y}` : `${s.stamps[i]},${s.value[i]},,,,0${y}`);
    }
  }
  if (first && opt.plot) {
    if (parsed.series.length > 1) process.stderr.write(`replay: --plot draws the first of ${parsed.series.length} series\n`);
    try {
      writePlot(opt.plot, opt.labels, opt.input, parsed.series[0], first, withY);
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  const body = rows.join('\n') + '\n';
  if (opt.output) {
    try {
      writeFileSync(opt.output, body);
    } catch (e) {
      return fail(`replay: --output: cannot write '${opt.output}': ${(e as Error).message}`);
    }
  } else if (!opt.plot) process.stdout.write(body);
  return 0;
}

function fail(msg: string): number {
  process.stderr.write(msg + '\n');
  return 2;
}

function modelFromName(name: string | undefined): ModelConfig {
  const cls = name ?? 'auto';
  if (!(MODEL_CLASSES as readonly string[]).includes(cls)) {
    throw new Error(`replay: --model: without --config expected a model class (${MODEL_CLASSES.join(', ')}), got '${cls}'`);
  }
  return modelEntry.parse({ class: cls }) as ModelConfig;
}

/**
 * The proxy's own loader first (a full anomstream config: its query and the model scoring it);
 * when the file is not a whole config (e.g. only a `models:` section), only its `models:`
 * section is validated.
 */
async function fromConfig(path: string, alias: string | undefined, queryAlias: string | undefined): Promise<{ model: ModelConfig; query?: QueryConfig }> {
  let full: Config | undefined;
  try {
    full = loadConfigFile(path);
  } catch {
    // not a whole config: the models-only validation below
  }
  let query: QueryConfig | undefined;
  if (full !== undefined) {
    const queries = Object.keys(full.reader.queries);
    const qa = queryAlias ?? (queries.length === 1 ? queries[0] : undefined);
    if (qa !== undefined && !queries.includes(qa)) throw new Error(`replay: ${path}: --query: expected a query alias (${queries.join(', ')}), got '${qa}'`);
    query = qa === undefined ? undefined : full.reader.queries[qa];
    const models = Object.fromEntries(Object.entries((full.models ?? {}) as Record<string, ModelConfig>).filter(([, m]) => qa === undefined || !m.queries || m.queries.includes(qa)));
    const aliases = Object.keys(models);
    const pick = alias ?? (aliases.length === 1 ? aliases[0] : undefined);
    if (pick !== undefined && pick in models) return { model: models[pick], query };
    if (alias === undefined && full.models === undefined) return { model: modelFromName(undefined), query };
  } else if (queryAlias !== undefined) throw new Error(`replay: ${path}: --query needs a whole anomstream config (reader.queries)`);
  return { model: await modelFromModels(path, alias), query };
}

/** A model of the `models:` section of a file that is not a whole config. */
async function modelFromModels(path: string, alias: string | undefined): Promise<ModelConfig> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`replay: --config: cannot read '${path}': ${(e as Error).message}`, { cause: e });
  }
  const models = (doc && typeof doc === 'object' ? (doc as Record<string, unknown>).models : undefined) ?? {};
  if (typeof models !== 'object' || models === null || Array.isArray(models)) {
    throw new Error(`replay: ${path}: models: expected a mapping alias -> model, got ${JSON.stringify(models)}`);
  }
  const aliases = Object.keys(models);
  let pick = alias;
  if (pick === undefined) {
    if (aliases.length > 1) throw new Error(`replay: ${path}: models: several models (${aliases.join(', ')}): choose one with --model`);
    if (aliases.length === 0) return modelEntry.parse({}) as ModelConfig;
    pick = aliases[0];
  }
  if (!(pick in models)) {
    if (aliases.length === 0 && (MODEL_CLASSES as readonly string[]).includes(pick)) return modelFromName(pick);
    throw new Error(`replay: ${path}: models: expected a model alias (${aliases.join(', ') || 'none defined'}), got '${pick}'`);
  }
  const r = modelEntry.safeParse((models as Record<string, unknown>)[pick]);
  if (!r.success) {
    const msgs = r.error.issues.map((i) => `models.${pick}${i.path.length ? '.' + i.path.join('.') : ''}: ${i.message}`);
    throw new Error(`replay: ${path}: ${msgs.join('; ')}`);
  }
  return r.data as ModelConfig;
}
