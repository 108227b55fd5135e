/**
 * Headless Chromium (Debian package `chromium`) driven through the DevTools protocol over a
 * WebSocket (`ws`), for pages served by a test: load a URL, collect every console error, uncaught
 * exception and failed load the page logs, and evaluate expressions in it. The flags are the ones
 * a root user needs on a CI machine (no sandbox, no GPU, no background traffic).
 */
import { rmSync } from 'node:fs';
import WebSocket from 'ws';
import { Proc, tempDir, waitFor } from './harness.js';

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';

/** Headless, no sandbox (root), no GPU, nothing fetched in the background, a throwaway profile. */
export function chromiumArgs(profileDir: string): string[] {
  return ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync', `--user-data-dir=${profileDir}`];
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

export class Browser {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private readonly listeners = new Set<(m: Message) => void>();

  private constructor(
    private readonly proc: Proc,
    private readonly ws: WebSocket,
    private readonly profile: string,
  ) {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Message;
      if (m.id !== undefined) {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) p?.reject(new Error(`${m.error.message}`));
        else p?.resolve(m);
      } else for (const l of this.listeners) l(m);
    });
  }

  static async start(): Promise<Browser> {
    const profile = tempDir('chromium');
    const proc = new Proc('chromium', CHROMIUM_BIN, [...chromiumArgs(profile), '--remote-debugging-port=0', 'about:blank']);
    try {
      const url = await waitFor(
        'chromium DevTools listening',
        async () => {
          if (!proc.running) throw new Error(`chromium exited with ${proc.exitCode}\n${proc.tail()}`);
          return /DevTools listening on (ws:\/\/\S+)/.exec(proc.output())?.[1];
        },
        30_000,
      );
      const ws = new WebSocket(url, { perMessageDeflate: false });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      return new Browser(proc, ws, profile);
    } catch (e) {
      await proc.stop();
      await removeProfile(profile);
      throw e;
    }
  }

  private send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Message> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /**
   * Open `url` in a new tab and wait for its load event; returns the tab's session, whose
   * evaluate() reads the page, and the errors it logged while loading.
   */
  async open(url: string): Promise<{ errors: string[]; evaluate: <T>(expression: string) => Promise<T> }> {
    const { result } = await this.send('Target.createTarget', { url: 'about:blank' });
    const attached = await this.send('Target.attachToTarget', { targetId: result!.targetId, flatten: true });
    const sessionId = attached.result!.sessionId as string;
    const errors: string[] = [];
    let loaded: () => void = () => undefined;
    const load = new Promise<void>((r) => (loaded = r));
    const listener = (m: Message): void => {
      if (m.sessionId !== sessionId) return;
      const p = m.params ?? {};
      if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert')) errors.push(`console.${p.type}: ${JSON.stringify(p.args)}`);
      if (m.method === 'Runtime.exceptionThrown') errors.push(`exception: ${JSON.stringify(p.exceptionDetails)}`);
      if (m.method === 'Log.entryAdded' && (p.entry as { level?: string }).level === 'error') errors.push(`log: ${JSON.stringify(p.entry)}`);
      if (m.method === 'Page.loadEventFired') loaded();
    };
    this.listeners.add(listener);
    for (const domain of ['Runtime', 'Log', 'Page']) await this.send(`${domain}.enable`, {}, sessionId);
    const nav = await this.send('Page.navigate', { url }, sessionId);
    if (nav.result?.errorText) throw new Error(`navigate ${url}: ${String(nav.result.errorText)}`);
    await Promise.race([load, new Promise((_, reject) => setTimeout(() => reject(new Error(`no load event from ${url} in 30 s`)), 30_000).unref())]);
    // Let late console messages (after the load event) arrive.
    await new Promise((r) => setTimeout(r, 300));
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = await this.send('Runtime.evaluate', { expression, returnByValue: true }, sessionId);
      const res = r.result as { result: { value: T }; exceptionDetails?: unknown };
      if (res.exceptionDetails) throw new Error(`evaluate ${expression}: ${JSON.stringify(res.exceptionDetails)}`);
      return res.result.value;
    };
    return { errors, evaluate };
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.send('Browser.close'), new Promise((r) => setTimeout(r, 2000).unref())]);
    } catch {
      // already gone
    }
    this.ws.terminate();
    await this.proc.stop(5000);
    await removeProfile(this.profile);
  }
}

/**
 * Chromium's helper processes (crashpad, GPU, network) can go on writing to the profile for a
 * while after the main process exited, so removing it may meet a directory refilled under it:
 * retried for up to 5 s, then left in the temp dir (a teardown problem, not the test's result).
 */
async function removeProfile(dir: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      rmSync(dir, { recursive: true, force: true });
      return;
    } catch (e) {
      if (i >= 20) {
        console.error(`leaving the Chromium profile ${dir}: ${(e as Error).message}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
