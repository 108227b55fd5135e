import { readFileSync, writeFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { compileModel, modelEntry, MODEL_CLASSES, ModelConfig } from '../config/models.js';
import { Prediction } from '../models/model.js';
import { parseInput } from './input.js';
import { loadConfigFile } from '../config/load.js';
import { PlotRecorder, writePlot } from './plot-output.js';

/**
 * `anomstream replay --input FILE [--config FILE] [--model NAME] [--output FILE] [--plot OUT.svg [--labels WINDOWS.json]]`
 *
 * Scores a CSV (`timestamp,value`) or VictoriaMetrics export JSON lines through the same
 * compileModel + Scorer code the proxy runs. Output (stdout without --output): a CSV
 * `timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score`, one row per input row in
 * input order; the score is 0 during warm-up and for points that are not fed to the model
 * (NaN/Inf values, timestamps not after the previous one: their prediction columns are empty).
 * Without --config the default model (`auto`) is used; `--model` names a model alias of the
 * config's `models:` section, or, without --config, a model class with its defaults.
 * `--plot` draws the (first) series, its prediction and score as an SVG picture (./plot.ts), with the
 * labelled windows of `--labels`; the CSV then goes only to `--output`.
 * Exit codes: 0 done, 1 bad input rows (each reported with its line number), 2 usage/config.
 */
const USAGE = 'usage: anomstream replay --input FILE [--config FILE] [--model NAME] [--output FILE] [--plot OUT.svg [--labels WINDOWS.json]]';

export async function runReplay(argv: string[]): Promise<number> {
  const opt: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--(input|config|model|output|plot|labels)(?:=(.*))?$/.exec(a);
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
  try {
    cfg = opt.config ? await modelFromConfig(opt.config, opt.model) : modelFromName(opt.model);
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

  const rows: string[] = ['timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score'];
  const out = new Prediction();
  const plot = opt.plot && parsed.series.length > 0 ? new PlotRecorder(parsed.series[0].ts.length) : undefined;
  for (const s of parsed.series) {
    const scorer = compileModel(cfg);
    const state = new Float64Array(scorer.slots);
    scorer.init(state, 0);
    for (let i = 0; i < s.ts.length; i++) {
      const y = s.value[i];
      const fed = Number.isFinite(y) && scorer.update(state, 0, s.ts[i], y, out);
      if (plot && s === parsed.series[0]) plot.record(i, fed && out.ready, out);
      rows.push(
        fed
          ? `${s.stamps[i]},${y},${out.yhat},${out.lower},${out.upper},${out.ready ? out.score : 0}`
          : `${s.stamps[i]},${y},,,,0`,
      );
    }
  }
  if (plot && opt.plot) {
    if (parsed.series.length > 1) process.stderr.write(`replay: --plot draws the first of ${parsed.series.length} series\n`);
    try {
      writePlot(opt.plot, opt.labels, opt.input, parsed.series[0], plot);
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
 * The proxy's own loader first (a full anomstream config); when the file is not a whole
 * config (e.g. only a `models:` section), only its `models:` section is validated.
 */
async function modelFromConfig(path: string, alias: string | undefined): Promise<ModelConfig> {
  try {
    const full = loadConfigFile(path);
    const models = (full.models ?? {}) as Record<string, ModelConfig>;
    const aliases = Object.keys(models);
    const pick = alias ?? (aliases.length === 1 ? aliases[0] : undefined);
    if (pick !== undefined && pick in models) return models[pick];
    if (alias === undefined && aliases.length === 0) return modelFromName(undefined);
  } catch {
    // not a whole config: fall through to the models-only validation below
  }
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`replay: --config: cannot read '${path}': ${(e as Error).message}`);
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
