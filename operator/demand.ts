// Polls every gateway replica for demand and feeds the sliding window the Function
// reconciler scales on. The gateway URL names its headless Service, which resolves
// to one address per ready replica; the operator sums their reports. If any replica
// does not answer, demand is unknown for that round and nothing scales down.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DEMAND_PATH, parseDemandReport } from '../lib/demand.ts';
import type { Logger } from '../lib/log.ts';
import { DemandWindow } from './function/scale.ts';

export interface DemandPollerOptions {
  /** http://<gateway headless service>:<port>, or a single gateway's URL. */
  gatewayUrl: string;
  intervalMs: number;
  windowMs: number;
  log: Logger;
  onChange(key: string): void;
}

export class DemandPoller {
  readonly window: DemandWindow;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly opts: DemandPollerOptions) {
    this.window = new DemandWindow(opts.windowMs);
  }

  start(): void {
    this.stopped = false;
    const tick = async () => {
      await this.pollOnce();
      if (!this.stopped) this.timer = setTimeout(tick, this.opts.intervalMs);
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  async pollOnce(): Promise<void> {
    try {
      const total = new Map<string, number>();
      for (const url of await this.replicaUrls()) {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        for (const f of parseDemandReport(await res.text()).functions) {
          const key = `${f.namespace}/${f.name}`;
          total.set(key, (total.get(key) ?? 0) + f.inFlight + f.queued);
        }
      }
      for (const key of this.window.record(total)) this.opts.onChange(key);
    } catch (err) {
      this.opts.log.warn('demand unknown: a gateway replica did not answer', {
        error: String(err),
      });
      this.window.unknown();
    }
  }

  private async replicaUrls(): Promise<string[]> {
    const base = new URL(this.opts.gatewayUrl);
    const host = base.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) return [new URL(DEMAND_PATH, base).toString()];
    let addrs = await lookup(host, { all: true, family: 4 }).catch(() => []);
    if (addrs.length === 0) addrs = await lookup(host, { all: true, family: 6 });
    return addrs.map((a) => {
      const u = new URL(DEMAND_PATH, base);
      u.hostname = a.family === 6 ? `[${a.address}]` : a.address;
      return u.toString();
    });
  }
}
