#!/usr/bin/env node
import type { Logger } from 'pino';
import { loadConfigFile } from './config/load.js';
import { didYouMean } from './config/issues.js';
import { LOG_LEVELS } from './config/schema.js';
import { summarize } from './config/summary.js';
import { ConfigError, UsageError } from './errors.js';
import { createLogger, type LogFormat } from './log.js';
import { VERSION } from './version.js';

/**
 * Argument parsing, start-up and signals; no logic of its own. Flags follow vmagent's and
 * vmanomaly's habits as well as GNU's: one or two dashes (`-config`, `--config`), the value after
 * `=` or as the next argument, a bare FILE as the config (vmanomaly: `vmanomaly config.yaml`).
 * Unknown flags are errors (exit 2).
 */
interface Flag {
  name: string;
  /** Other spellings (vmagent's / vmanomaly's). */
  aliases?: string[];
  /** Metavariable of a flag that takes a value. */
  value?: string;
  help: string;
}

const FLAGS: Flag[] = [
  { name: 'config', value: 'FILE', help: 'run the proxy with this configuration (a bare FILE argument does the same, as with vmanomaly)' },
  {
    name: 'check-config',
    value: 'FILE...',
    help: 'validate each file (schema, %{ENV} variables, the certificate, key, CA and token files it names), print every problem at once; exit 0 when all are valid, 2 otherwise',
  },
  {
    name: 'log-format',
    aliases: ['loggerFormat'],
    value: 'json|text',
    help: "json (default): one JSON object per line; text: time, level, message, key=value fields (vmagent's -loggerFormat=default is text). Overrides logging.format",
  },
  { name: 'log-level', aliases: ['loggerLevel'], value: 'LEVEL', help: `${LOG_LEVELS.join(', ')} (vmagent's and vmanomaly's names too: WARNING, CRITICAL, ...). Overrides logging.level` },
  { name: 'version', help: 'print the version and exit' },
  { name: 'help', aliases: ['h'], help: 'print this help and exit' },
];

function help(): string {
  const flags = FLAGS.map((f) => {
    const left = `  --${f.name}${f.value ? ` ${f.value}` : ''}`;
    const aka = f.aliases ? ` (also -${f.aliases.join(', -')})` : '';
    return `${left.padEnd(26)}${f.help}${aka}`;
  });
  return [
    `anomstream ${VERSION}: streaming anomaly detection in the remote_write path`,
    '',
    'Usage:',
    '  anomstream --config FILE [--log-format json|text] [--log-level LEVEL]',
    '  anomstream --check-config FILE [FILE...]',
    '  anomstream replay --input FILE [--config FILE] [--query ALIAS] [--model NAME] [--output FILE]',
    '                    [--plot OUT.svg [--labels WINDOWS.json]]',
    '  anomstream state export --config FILE [--shard COUNT/INDEX] --output DIR SNAPSHOT...',
    '  anomstream state import --config FILE SNAPSHOT...',
    '  anomstream --version | --help',
    '',
    "Flags (one or two dashes; the value after '=' or as the next argument: -config=FILE, --config FILE):",
    ...flags,
    '',
    'Subcommands:',
    '  replay                  score a CSV (timestamp,value) or a VictoriaMetrics /api/v1/export file offline with the',
    '                          models the proxy runs, and print timestamp,value,yhat,yhat_lower,yhat_upper,anomaly_score:',
    '    --input FILE          the data (required)',
    "    --config FILE         a config whose models: section to use (default: the 'auto' model)",
    '    --query ALIAS         with --config: the query whose transform and per-query settings apply (one query: that one)',
    '    --model NAME          a model alias of that config; without --config, a model class',
    '    --output FILE         write the CSV there instead of stdout',
    '    --plot OUT.svg        draw y, yhat, the band and anomaly_score as one SVG picture (the CSV then goes only to --output)',
    "    --labels FILE         with --plot: shade labelled windows (NAB's combined_windows.json, or a list of [start, end])",
    '  state export            hand model state over when the number of instances changes: the series of the SNAPSHOT files',
    "                          (old instances' <state.path>/scoring.snapshot) that the config's shard: owns, to DIR/scoring.snapshot:",
    '    --config FILE         the instance that will restore it (its shard:, queries, models, limits) (required)',
    "    --shard COUNT/INDEX   replace the config's shard count and index",
    "    --output DIR          where to write scoring.snapshot (that instance's state.path) (required)",
    "  state import            the same into the config's own state.path, merged with its snapshot (the instance stopped)",
    '',
    'Exit codes: 0 done, 1 unexpected failure (or bad input rows for replay), 2 bad arguments or configuration.',
  ].join('\n');
}

interface Args {
  config?: string;
  check?: string[];
  logFormat?: LogFormat;
  logLevel?: string;
  version: boolean;
  help: boolean;
}

const LEVEL_NAMES: Record<string, string> = { warning: 'warn', critical: 'fatal', panic: 'fatal' };

function parseArgs(argv: string[]): Args {
  const a: Args = { version: false, help: false };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(arg.startsWith('--') ? 2 : 1, eq < 0 ? undefined : eq);
    const flag = FLAGS.find((f) => f.name === name || f.aliases?.includes(name));
    if (!flag) {
      const guess = didYouMean(
        name,
        FLAGS.flatMap((f) => [f.name, ...(f.aliases ?? [])]),
      );
      throw new UsageError('ANOM_USAGE', `unknown flag '${arg}'${guess ? `: did you mean --${guess}?` : ''}`);
    }
    let v: string | undefined;
    if (flag.value) {
      v = eq < 0 ? argv[++i] : arg.slice(eq + 1);
      if (v === undefined || v === '') throw new UsageError('ANOM_USAGE', `--${flag.name} needs a value: --${flag.name} ${flag.value}`);
    } else if (eq >= 0) throw new UsageError('ANOM_USAGE', `--${flag.name} takes no value`);
    switch (flag.name) {
      case 'config':
        a.config = v;
        break;
      case 'check-config':
        (a.check ??= []).push(v as string);
        break;
      case 'log-format': {
        const f = (v as string).toLowerCase();
        if (f !== 'json' && f !== 'text' && f !== 'default') throw new UsageError('ANOM_USAGE', `--log-format: expected json or text, got '${v}'`);
        a.logFormat = f === 'json' ? 'json' : 'text';
        break;
      }
      case 'log-level': {
        const l = (v as string).toLowerCase();
        const level = LEVEL_NAMES[l] ?? l;
        if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError('ANOM_USAGE', `--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${v}'`);
        a.logLevel = level;
        break;
      }
      case 'version':
        a.version = true;
        break;
      case 'help':
        a.help = true;
        break;
    }
  }
  if (a.check) a.check.push(...positional);
  else if (positional.length > 0) {
    if (a.config !== undefined || positional.length > 1) throw new UsageError('ANOM_USAGE', `unexpected argument '${positional[a.config !== undefined ? 0 : 1]}'`);
    a.config = positional[0];
  }
  return a;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'replay') {
    const { runReplay } = await import('./replay/replay.js');
    return runReplay(argv.slice(1));
  }
  if (argv[0] === 'state') {
    const { runState } = await import('./state/state-cli.js');
    return runState(argv.slice(1));
  }
  const a = parseArgs(argv);
  if (a.help) {
    console.log(help());
    return 0;
  }
  if (a.version) {
    console.log(VERSION);
    return 0;
  }
  if (a.check) return checkFiles(a.check);
  if (a.config === undefined) throw new UsageError('ANOM_USAGE', 'missing the configuration: anomstream --config FILE');
  const cfg = loadConfigFile(a.config);
  const log = createLogger(a.logLevel ?? cfg.logging.level, a.logFormat ?? cfg.logging.format);
  logStart(log, a.config, cfg);
  const { startApp } = await import('./app.js');
  const file = a.config;
  const app = await startApp(cfg, log, { load: () => loadConfigFile(file), logLevel: a.logLevel });
  // SIGHUP re-reads the config (as POST /-/reload; systemd's ExecReload sends it).
  const reload = (): void => {
    log.info({ signal: 'SIGHUP', config: file }, 'reloading the configuration');
    void app.reload();
  };
  process.on('SIGHUP', reload);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (sig: NodeJS.Signals): void => {
      if (stopping) {
        // A second signal: the operator wants it gone now (no snapshot; the previous one stays).
        log.warn({ signal: sig }, 'second signal: exiting at once');
        process.exit(sig === 'SIGINT' ? 130 : 143);
      }
      stopping = true;
      process.off('SIGHUP', reload);
      log.info({ signal: sig }, 'shutting down: finishing in-flight requests, flushing generated series, writing the model state');
      app.close().then(resolve, (e: unknown) => {
        log.error({ err: e }, 'graceful shutdown failed');
        resolve();
      });
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}

/** The version and the effective configuration, without secrets: one line, then one per query and model. */
function logStart(log: Logger, file: string, cfg: Parameters<typeof summarize>[0]): void {
  const s = summarize(cfg);
  log.info({ version: VERSION, config: file, node: process.version, ...s.server, datasource: s.datasource, limits: s.limits, state: s.state, ...s.routing }, 'anomstream starting');
  for (const [alias, q] of Object.entries(s.queries)) log.info({ query: alias, ...q }, 'query');
  for (const [alias, m] of Object.entries(s.models)) log.info({ model: alias, ...m }, 'model');
}

/** `1 query`, `2 queries`. */
function counted(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** --check-config: every file, every problem; 0 when all are valid. */
function checkFiles(files: string[]): number {
  let bad = 0;
  for (const file of files) {
    try {
      const cfg = loadConfigFile(file);
      console.log(`${file}: valid (${counted(Object.keys(cfg.reader.queries).length, 'query', 'queries')}, ${counted(Object.keys(cfg.models ?? { default: 1 }).length, 'model', 'models')})`);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      bad++;
      console.error(describe(file, e));
    }
  }
  return bad === 0 ? 0 : 2;
}

/** `anomstream: FILE: N problems:`, then one line per problem (config path, or file:line:column for YAML). */
function describe(file: string, e: ConfigError): string {
  const n = e.issues.length || e.message.split('\n').length;
  return `anomstream: ${file}: ${n} problem${n === 1 ? '' : 's'}:\n${e.message}`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ConfigError) {
      const file = parseFileArg(process.argv.slice(2));
      console.error(describe(file, e));
      process.exitCode = 2;
    } else if (e instanceof UsageError) {
      console.error(`anomstream: ${e.message} (anomstream --help lists the flags)`);
      process.exitCode = 2;
    } else {
      console.error(`anomstream: ${(e as Error)?.stack ?? String(e)}`);
      process.exitCode = 1;
    }
  },
);

function parseFileArg(argv: string[]): string {
  try {
    return parseArgs(argv).config ?? 'config';
  } catch {
    return 'config';
  }
}
