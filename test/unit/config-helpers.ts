import assert from 'node:assert/strict';
import { parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

/** The message of the ConfigError (ANOM_CONFIG_INVALID) that parsing `raw` throws; fails when it parses. */
export function configErrorOf(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.code, 'ANOM_CONFIG_INVALID');
    return e.message;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(raw)}`);
}
