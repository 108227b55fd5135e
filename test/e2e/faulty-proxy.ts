/**
 * A real HTTP server in front of a real VictoriaMetrics that answers some requests itself: the
 * datasource failing in ways a test chooses (503 for a while, 503 to the first generated-series
 * writes), everything else passed through unchanged (method, path, headers, body; the answer's
 * status and body back). Not a mock of anomstream: the peer it stands in front of is real.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeWriteRequest } from './harness.js';

/** The status to answer instead of forwarding, or null to forward. */
export type Fault = (req: { method: string; path: string; body: Buffer }) => number | null;

export class FaultyProxy {
  /** Requests answered by the fault (status != null), and all requests seen. */
  faulted = 0;
  seen = 0;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
  ) {}

  static async start(target: string, fault: Fault): Promise<FaultyProxy> {
    const t = new URL(target);
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const p = new FaultyProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        p.seen++;
        const status = fault({ method: req.method ?? 'GET', path: req.url ?? '/', body });
        if (status !== null) {
          p.faulted++;
          res.writeHead(status).end(`faulty proxy: ${status}`);
          return;
        }
        const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
          res.writeHead(r.statusCode ?? 502, r.headers);
          r.pipe(res);
        });
        up.on('error', (e) => res.writeHead(502).end(`faulty proxy: ${e.message}`));
        up.end(body);
      });
    });
    return p;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** Is this remote_write body one of anomstream's generated-series writes (its series carry `for`)? */
export function isGenerated(body: Buffer): boolean {
  try {
    return decodeWriteRequest(body).timeseries?.some((ts) => ts.labels?.some((l) => l.name === 'for')) ?? false;
  } catch {
    return false;
  }
}
