/**
 * The start-up and teardown the e2e tests share: a downstream (real VictoriaMetrics or a
 * CaptureServer), anomstream in front of it, optionally a real vmagent in front of anomstream.
 * The test body gets the started pieces; on failure the processes' output is printed as test
 * diagnostics; in `finally` everything is closed in reverse start order.
 *
 * Also a datasource that holds every write until the test releases it (for in-flight limits).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Anomstream, CaptureServer, VictoriaMetrics, VmAgent, dumpProcesses, type Diagnosable, type Proc } from './harness.js';

/** What anomstream can forward to: its URL, its process (if any, for diagnostics), close(). */
interface Downstream {
  readonly url: string;
  readonly proc?: Proc;
  close(): Promise<void>;
}

/** anomstream's config for its port and the downstream's URL (e.g. a `configYaml` call). */
type ConfigFor = (port: number, datasourceUrl: string) => string;

async function run<D extends Downstream>(
  t: Diagnosable,
  startDownstream: () => Promise<D>,
  config: ConfigFor,
  vmagent: false | { defaultQueues?: boolean },
  body: (down: D, anom: Anomstream, agent: VmAgent | undefined) => Promise<void>,
  env?: NodeJS.ProcessEnv,
): Promise<void> {
  let down: D | undefined;
  let anom: Anomstream | undefined;
  let agent: VmAgent | undefined;
  try {
    down = await startDownstream();
    const datasourceUrl = down.url;
    anom = await Anomstream.start((port) => config(port, datasourceUrl), { env });
    if (vmagent) agent = await VmAgent.start(`${anom.url}/api/v1/write`, [], vmagent);
    await body(down, anom, agent);
  } catch (e) {
    dumpProcesses(t, [down?.proc, anom?.proc, agent?.proc]);
    throw e;
  } finally {
    await agent?.close();
    await anom?.close();
    await down?.close();
  }
}

/** VictoriaMetrics, then anomstream writing to it. */
export function withVictoriaMetrics(t: Diagnosable, config: ConfigFor, body: (vm: VictoriaMetrics, anom: Anomstream) => Promise<void>): Promise<void> {
  return run(
    t,
    () => VictoriaMetrics.start(),
    config,
    false,
    (vm, anom) => body(vm, anom),
  );
}

/** VictoriaMetrics, anomstream writing to it, and vmagent remote-writing to anomstream (`agent`: VmAgent.start's options). */
export function withVmagent(t: Diagnosable, config: ConfigFor, body: (vm: VictoriaMetrics, anom: Anomstream, agent: VmAgent) => Promise<void>, agent: { defaultQueues?: boolean } = {}): Promise<void> {
  return run(
    t,
    () => VictoriaMetrics.start(),
    config,
    agent,
    (vm, anom, agent) => body(vm, anom, agent!),
  );
}

/** A CaptureServer answering `status`, then anomstream writing to it. */
export function withCaptureServer(t: Diagnosable, status: number, config: ConfigFor, body: (sink: CaptureServer, anom: Anomstream) => Promise<void>): Promise<void> {
  return run(
    t,
    () => CaptureServer.start(status),
    config,
    false,
    (sink, anom) => body(sink, anom),
  );
}

/** Any downstream (`start`: a server of the test's), then anomstream writing to it, run with `env` when given. */
export function withDownstream<D extends Downstream>(t: Diagnosable, start: () => Promise<D>, config: ConfigFor, body: (down: D, anom: Anomstream) => Promise<void>, env?: NodeJS.ProcessEnv): Promise<void> {
  return run(t, start, config, false, (down, anom) => body(down, anom), env);
}

/** A datasource that answers GET with 200 and keeps every POST's response in `held` until the test ends it. */
export interface HoldingDatasource {
  readonly url: string;
  readonly held: http.ServerResponse[];
  close(): Promise<void>;
}

export async function startHoldingDatasource(): Promise<HoldingDatasource> {
  const held: http.ServerResponse[] = [];
  const ds = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => (req.method === 'POST' ? held.push(res) : res.writeHead(200).end('OK')));
  });
  await new Promise<void>((r) => ds.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(ds.address() as AddressInfo).port}`,
    held,
    async close() {
      ds.closeAllConnections();
      await new Promise((r) => ds.close(r));
    },
  };
}
