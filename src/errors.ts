/**
 * Every error anomstream raises on purpose, in one table (as fastify's lib/errors.js): a stable
 * `code` that tests, logs and callers match on, and a `name` per class. Messages are for people
 * and may be reworded; codes may not. A new error is one row here, then `new XxxError('CODE', msg)`.
 */
export const ERROR_CODES = {
  /** Request bodies that can never be read: answered 400 with the message as the one-line reason. */
  ANOM_DECODE_TOO_LARGE: 'request body or its announced decompressed size exceeds server.max_request_bytes',
  ANOM_DECODE_SNAPPY: 'body is not a valid snappy block',
  ANOM_DECODE_PROTOBUF: 'body is not a remote write 1.0 WriteRequest',
  ANOM_DECODE_ZSTD: 'body is not a valid zstd frame',
  ANOM_DECODE_ENCODING: 'Content-Encoding that anomstream cannot read',
  ANOM_DECODE_LIMIT: 'a request with more series or samples than limits.max_series_per_request / max_samples_per_request',
  /** Transient: answered 503, the sender retries later. */
  ANOM_MEMORY_BUDGET: 'the memory a request needs does not fit in server.max_memory_bytes now',
  /** Configuration: the CLI prints the message and exits 2. */
  ANOM_CONFIG_INVALID: 'configuration does not validate (schema, environment variables, files it names); each line names a path, all problems at once',
  ANOM_CONFIG_UNREADABLE: 'a file named by the configuration cannot be read',
  ANOM_CONFIG_YAML: 'the configuration file is not valid YAML',
  ANOM_SELECTOR_SYNTAX: 'a series selector cannot be parsed',
  ANOM_SELECTOR_FUNCTION: 'a MetricsQL function where a series selector is expected (the message names the transform to use)',
  ANOM_SELECTOR_REGEX: "a label matcher's regex does not compile",
  ANOM_SELECTOR_EMPTY: 'a selector with no matcher that rejects the empty string (it would match every series)',
  /** Command line: the CLI prints the message and the usage and exits 2. */
  ANOM_USAGE: 'command-line arguments cannot be used',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every coded error. */
export class AnomstreamError extends Error {
  override readonly name: string = 'AnomstreamError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A request that can never be read (answered 400, or 415 for ANOM_DECODE_ENCODING). */
export class DecodeError extends AnomstreamError {
  override readonly name = 'DecodeError';
}

/** A request whose memory does not fit in server.max_memory_bytes now (answered 503: retry later). */
export class BudgetError extends AnomstreamError {
  override readonly name = 'BudgetError';
}

/**
 * A configuration that cannot be used; the CLI prints `message` and exits 2. `issues`: every
 * problem found (config path + message), when the file could be read and parsed.
 */
export class ConfigError extends AnomstreamError {
  override readonly name = 'ConfigError';
  constructor(
    code: ErrorCode,
    message: string,
    readonly issues: readonly { path: PropertyKey[]; message: string }[] = [],
  ) {
    super(code, message);
  }
}

/** A series selector that cannot be parsed (wrapped into a ConfigError naming the query). */
export class SelectorError extends AnomstreamError {
  override readonly name = 'SelectorError';
}

/** Arguments the CLI cannot use. */
export class UsageError extends AnomstreamError {
  override readonly name = 'UsageError';
}
