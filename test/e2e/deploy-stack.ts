/**
 * deploy/docker-compose.yml's topology, run natively on 127.0.0.1 from the same files:
 *
 *   node_exporter, anomstream, VictoriaMetrics, vmalert <--scrape-- vmagent --remote_write-->
 *   anomstream --> VictoriaMetrics <--query-- vmalert --notify--> AlertReceiver
 *
 * anomstream runs deploy/anomstream.yml, vmagent deploy/vmagent/scrape.yml and vmalert
 * deploy/alerts.yml, each rewritten only where a container address or a test-speed setting must
 * change (listen address, datasource URL, scrape targets and interval, warm-up length).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { DEPLOY, deployFile } from '../deploy/files.js';
import { Anomstream, VictoriaMetrics, VmAgent, tempDir, type Proc } from './harness.js';
import { AlertReceiver, NodeExporter, VmAlert } from './peers.js';

type Doc = Record<string, unknown>;

/**
 * deploy/anomstream.yml for this host: listening on `port`, writing to `datasourceUrl`, its models
 * warming up on `warmup` points (node_exporter is scraped every second here, not every 15 s), plus
 * `extra` queries scored by their own model entries.
 */
export function anomstreamConfig(port: number, datasourceUrl: string, opts: { warmup: number; extraQueries?: Record<string, string>; extraModels?: Record<string, Doc> }): string {
  const cfg = parseYaml(deployFile('anomstream.yml')) as Doc & { server: Doc; reader: { queries: Doc }; models: Record<string, Doc>; writer: Doc };
  const exampleQueries = Object.keys(cfg.reader.queries);
  cfg.server.listen = `127.0.0.1:${port}`;
  cfg.writer.datasource_url = datasourceUrl;
  cfg.state = { path: 'anomstream-state' }; // the container's volume there; the test's temp working directory here
  for (const m of Object.values(cfg.models)) {
    m.min_n_samples_seen = opts.warmup;
    m.queries ??= exampleQueries;
  }
  Object.assign(cfg.reader.queries, opts.extraQueries ?? {});
  Object.assign(cfg.models, opts.extraModels ?? {});
  return toYaml(cfg);
}

/**
 * deploy/vmagent/scrape.yml with every target `service:port` replaced by `targets[service]`
 * (jobs of services not in `targets` dropped) and the scrape interval set to `interval`.
 */
export function scrapeConfig(targets: Record<string, string>, interval: string): string {
  const cfg = parseYaml(deployFile('vmagent/scrape.yml')) as { global: Doc; scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
  cfg.global.scrape_interval = interval;
  cfg.scrape_configs = cfg.scrape_configs.filter((job) => {
    const all = job.static_configs.flatMap((sc) => sc.targets);
    if (!all.every((t) => targets[t.split(':')[0]] !== undefined)) return false;
    for (const sc of job.static_configs) sc.targets = sc.targets.map((t) => targets[t.split(':')[0]]);
    return true;
  });
  return toYaml(cfg);
}

/** The running topology; `close()` stops it in reverse start order. */
export class DeployStack {
  vm?: VictoriaMetrics;
  nodeExporter?: NodeExporter;
  anom?: Anomstream;
  notifier?: AlertReceiver;
  vmalert?: VmAlert;
  agent?: VmAgent;
  readonly dir = tempDir('deploy');

  /**
   * Starts everything; on a failure stops what was started and rethrows. `ruleFiles` are
   * extra vmalert rule files beside deploy/alerts.yml; `vmArgs` extra VictoriaMetrics flags.
   */
  static async start(opts: {
    warmup: number;
    extraQueries: Record<string, string>;
    extraModels: Record<string, Doc>;
    extraRules: string;
    scrapeInterval: string;
    evaluationInterval: string;
    vmArgs?: string[];
  }): Promise<DeployStack> {
    const s = new DeployStack();
    try {
      s.vm = await VictoriaMetrics.start(opts.vmArgs);
      const vmUrl = s.vm.url;
      s.nodeExporter = await NodeExporter.start();
      s.anom = await Anomstream.start((port) => anomstreamConfig(port, vmUrl, opts));
      s.notifier = await AlertReceiver.start();
      const extraRules = join(s.dir, 'extra-rules.yml');
      writeFileSync(extraRules, opts.extraRules);
      const vmalertPort = await VmAlert.port();
      s.vmalert = await VmAlert.start({
        port: vmalertPort,
        ruleFiles: [join(DEPLOY, 'alerts.yml'), extraRules],
        datasourceUrl: vmUrl,
        notifierUrl: s.notifier.url,
        evaluationInterval: opts.evaluationInterval,
      });
      const scrape = join(s.dir, 'scrape.yml');
      const targets = {
        'node-exporter': s.nodeExporter.address,
        anomstream: `127.0.0.1:${s.anom.port}`,
        victoriametrics: `127.0.0.1:${s.vm.port}`,
        vmalert: `127.0.0.1:${vmalertPort}`,
      };
      writeFileSync(scrape, scrapeConfig(targets, opts.scrapeInterval));
      s.agent = await VmAgent.start(`${s.anom.url}/api/v1/write`, [`-promscrape.config=${scrape}`]);
      return s;
    } catch (e) {
      await s.close();
      throw e;
    }
  }

  procs(): (Proc | undefined)[] {
    return [this.vm?.proc, this.nodeExporter?.proc, this.anom?.proc, this.vmalert?.proc, this.agent?.proc];
  }

  async close(): Promise<void> {
    await this.agent?.close();
    await this.vmalert?.close();
    await this.notifier?.close();
    await this.anom?.close();
    await this.nodeExporter?.close();
    await this.vm?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
