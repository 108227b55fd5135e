/**
 * Helpers of the writer e2e tests (issue 5): a recording HTTP(S) server that can require auth
 * or a client certificate, certificates made with openssl, anomstream run in-process with its
 * log lines captured, and a small scored dataset.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { parse as parseYaml } from 'yaml';
import { startApp, type App } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import { REMOTE_WRITE_HEADERS, buildWriteRequest, request, type HttpResult, type InputSeries } from './harness.js';

export interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** CN of the client certificate (TLS with requestCert), else ''. */
  clientCN: string;
}

/**
 * Records every request; answers 401 when `authorized` says no, 200 on GET, 204 on POST.
 * With `tls`, serves HTTPS (and, with `tls.ca`, requires and verifies a client certificate).
 */
export class RecordingServer {
  readonly requests: Recorded[] = [];
  /** TLS handshakes the server refused (e.g. no client certificate). */
  tlsErrors = 0;
  private constructor(
    private readonly server: http.Server | https.Server,
    readonly url: string,
  ) {}

  static async start(opts: { tls?: { cert: Buffer; key: Buffer; ca?: Buffer }; authorized?: (h: http.IncomingHttpHeaders) => boolean; status?: number } = {}): Promise<RecordingServer> {
    const server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: !!opts.tls.ca, rejectUnauthorized: !!opts.tls.ca }) : http.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const rs = new RecordingServer(server, `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`);
    server.on('tlsClientError', () => rs.tlsErrors++);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const sock = req.socket as TLSSocket;
        const cert = typeof sock.getPeerCertificate === 'function' ? sock.getPeerCertificate() : undefined;
        rs.requests.push({
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
          clientCN: cert && cert.subject ? String(cert.subject.CN) : '',
        });
        if (opts.authorized && !opts.authorized(req.headers)) res.writeHead(401).end('unauthorized');
        else res.writeHead(req.method === 'GET' ? 200 : (opts.status ?? 204)).end(req.method === 'GET' ? 'OK' : undefined);
      });
    });
    return rs;
  }

  posts(): Recorded[] {
    return this.requests.filter((r) => r.method === 'POST');
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

export interface Certs {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA, a server certificate for 127.0.0.1/localhost and a client certificate (CN=anomstream-client), via openssl. */
export function makeCerts(dir: string): Certs {
  const p = (n: string): string => join(dir, n);
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=anomstream-test-ca', '-keyout', p('ca.key'), '-out', p('ca.crt'));
  const leaf = (name: string, cn: string, ext: string): void => {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`));
    writeFileSync(p(`${name}.ext`), ext);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p(`${name}.ext`), '-out', p(`${name}.crt`));
  };
  leaf('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'anomstream-client', 'extendedKeyUsage=clientAuth\n');
  return { dir, caCert: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), clientCert: p('client.crt'), clientKey: p('client.key') };
}

/** anomstream in-process (startApp), listening on a free port, its log lines kept as objects. */
export class InProcess {
  readonly logs: { level: number; msg: string; [k: string]: unknown }[] = [];
  app!: App;
  url = '';

  /** `writerYaml`: the YAML mapping of the writer section (indented lines under `writer:`); `server`: more keys of `server:` (flow style). */
  static async start(writerYaml: string, queries: Record<string, string> = { cpu: 'test_cpu{job="node"}' }, server = ''): Promise<InProcess> {
    const text = [
      `server: { listen: "127.0.0.1:0"${server ? `, ${server}` : ''} }`,
      'reader:',
      '  queries:',
      ...Object.entries(queries).map(([k, v]) => `    ${k}: '${v}'`),
      'models:',
      '  m: { class: zscore_online, min_n_samples_seen: 16, half_life: 2m }',
      'writer:',
      writerYaml,
      "state: { path: '' }",
      '',
    ].join('\n');
    const cfg = parseConfig(parseYaml(text));
    const ip = new InProcess();
    const log = pino({ level: 'info' }, { write: (line: string) => void ip.logs.push(JSON.parse(line) as InProcess['logs'][number]) });
    ip.app = await startApp(cfg, log);
    ip.url = `http://127.0.0.1:${ip.app.receiver.address().port}`;
    return ip;
  }

  /** POST a remote write body; resolves once the generated series it caused were sent too (they go in the background). */
  async write(body: Uint8Array, path = '/api/v1/write'): Promise<HttpResult> {
    const r = await request(`${this.url}${path}`, { method: 'POST', body, headers: REMOTE_WRITE_HEADERS });
    await this.app.drain();
    return r;
  }

  warnings(): string[] {
    return this.logs.filter((l) => l.level === 40).map((l) => l.msg);
  }

  async metric(line: RegExp): Promise<number | undefined> {
    const r = await request(`${this.url}/metrics`);
    const m = r.body
      .toString()
      .split('\n')
      .find((l) => line.test(l));
    return m === undefined ? undefined : Number(m.split(' ').pop());
  }

  close(): Promise<void> {
    return this.app.close(1000);
  }
}

/** 40 points 10 s apart ending a minute ago: past the 16-point warm-up, so scores are written. */
export function scoredSeries(labels: Record<string, string>, points = 40): InputSeries {
  const step = 10_000;
  const end = Math.floor(Date.now() / step) * step - 60_000;
  const timestamps = Array.from({ length: points }, (_, i) => end - (points - 1 - i) * step);
  const values = timestamps.map((_, i) => Math.round((20 + Math.sin(i) * 2) * 1000) / 1000);
  return { labels, timestamps, values };
}

export function body(...series: InputSeries[]): Uint8Array {
  return buildWriteRequest(series);
}
