#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { pino } from 'pino';
import { startApp } from './app.js';
import { loadConfigFile } from './config/load.js';
import { ConfigError, UsageError } from './errors.js';

/** Argument parsing, start-up and signals; no logic of its own. */
const USAGE = `Usage:
  anomstream --config FILE          run the proxy
  anomstream --check-config FILE    validate FILE and exit (0 valid, 2 invalid)
  anomstream replay --input FILE [--config FILE] [--model NAME] [--output FILE]
                    [--plot OUT.svg [--labels WINDOWS.json]]
                                    score a CSV or /api/v1/export file offline (--plot: draw it)
  anomstream --version | --help`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'replay') {
    const { runReplay } = await import('./replay/replay.js');
    return runReplay(argv.slice(1));
  }
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError('ANOM_USAGE', `${name} needs a file`);
    return v;
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  if (argv.includes('--version')) {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    console.log(pkg.version);
    return 0;
  }
  const check = flag('--check-config');
  const file = check ?? flag('--config');
  if (!file) throw new UsageError('ANOM_USAGE', 'missing --config FILE');
  const cfg = loadConfigFile(file);
  if (check) {
    console.log(`${file}: valid (${Object.keys(cfg.reader.queries).length} queries, ${Object.keys(cfg.models ?? { default: 1 }).length} models)`);
    return 0;
  }
  const log = pino({ level: cfg.logging.level, base: { app: 'anomstream' } });
  const app = await startApp(cfg, log);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      log.info({ signal: sig }, 'shutting down: finishing in-flight requests');
      app.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log.info('stopped');
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (e instanceof ConfigError) {
      console.error(`anomstream: invalid config:\n${e.message}`);
      process.exitCode = 2;
    } else if (e instanceof UsageError) {
      console.error(`anomstream: ${e.message}\n${USAGE}`);
      process.exitCode = 2;
    } else {
      console.error(`anomstream: ${(e as Error)?.stack ?? String(e)}`);
      process.exitCode = 1;
    }
  },
);
