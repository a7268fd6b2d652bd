// Polls every gateway replica for demand and feeds the sliding window the Function
// reconciler scales on. The gateway URL names its headless Service, which resolves
// to one address per ready replica; the operator sums their reports. If any replica
// does not answer, demand is unknown for that round and nothing scales down.
// Between ticks it holds a wake request on each replica (lib/demand-wake.ts) and
// polls at once when one answers: a call waiting for a function with no workers is
// seen in a round trip, not up to a whole interval later.
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { DEMAND_PATH, parseDemandReport } from '../lib/demand.ts';
import { DEMAND_WAKE_PATH, MAX_WAKE_WAIT_MS, type WakeAnswer } from '../lib/demand-wake.ts';
import type { Logger } from '../lib/log.ts';
import { sleep } from '../lib/sleep.ts';
import { DemandWindow } from './function/scale.ts';

export interface DemandPollerOptions {
  /** http://<gateway headless service>:<port>, or a single gateway's URL. */
  gatewayUrl: string;
  intervalMs: number;
  windowMs: number;
  log: Logger;
  onChange(key: string): void;
  /**
   * Least time between a wake and the next one from the same replica (default
   * 250 ms): under sustained queueing every call would wake us.
   */
  minWakeGapMs?: number;
}

export class DemandPoller {
  readonly window: DemandWindow;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private polling: Promise<void> | undefined;
  private again = false;
  /** One held wake request per replica origin. */
  private readonly wakers = new Map<string, AbortController>();
  /** Warm-pool pods the gateways made workers of each function, as of the last complete round. */
  private pods = new Map<string, string[]>();
  /** The most own workers any replica saw connected, per function with specialized pods. */
  private own = new Map<string, number>();

  constructor(private readonly opts: DemandPollerOptions) {
    this.window = new DemandWindow(opts.windowMs);
  }

  start(): void {
    this.stopped = false;
    const tick = async () => {
      await this.poll();
      if (!this.stopped) this.timer = setTimeout(tick, this.opts.intervalMs);
    };
    void tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const ac of this.wakers.values()) ac.abort();
    this.wakers.clear();
  }

  /** One round now; a round asked for while one runs follows it, once. */
  private poll(): Promise<void> {
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.again = false;
        await this.pollOnce();
      } while (this.again && !this.stopped);
    })().finally(() => (this.polling = undefined));
    return this.polling;
  }

  /** Pool pods specialized for the function `namespace/name` (lib/warm-pool.ts), to adopt. */
  specializedPods(key: string): string[] {
    return this.pods.get(key) ?? [];
  }

  /** Whether the function's own workers serve (a replica has one connected). */
  ownWorkers(key: string): number {
    return this.own.get(key) ?? 0;
  }

  async pollOnce(): Promise<void> {
    try {
      const total = new Map<string, number>();
      const pods = new Map<string, string[]>();
      const own = new Map<string, number>();
      const origins = await this.replicaOrigins();
      if (!this.stopped) this.watchWakes(origins);
      for (const origin of origins) {
        const url = new URL(DEMAND_PATH, origin).toString();
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        for (const f of parseDemandReport(await res.text()).functions) {
          const key = `${f.namespace}/${f.name}`;
          total.set(key, (total.get(key) ?? 0) + f.inFlight + f.queued);
          if (f.specializedPods) pods.set(key, [...(pods.get(key) ?? []), ...f.specializedPods]);
          if (f.ownWorkers) own.set(key, Math.max(own.get(key) ?? 0, f.ownWorkers));
        }
      }
      const changed = new Set(this.window.record(total));
      for (const [key, list] of pods) {
        const before = this.pods.get(key) ?? [];
        if (list.some((p) => !before.includes(p))) changed.add(key);
        if ((own.get(key) ?? 0) !== (this.own.get(key) ?? 0)) changed.add(key);
      }
      this.pods = pods;
      this.own = own;
      for (const key of changed) this.opts.onChange(key);
    } catch (err) {
      this.opts.log.warn('demand unknown: a gateway replica did not answer', {
        error: String(err),
      });
      this.window.unknown();
    }
  }

  /** A held wake request per replica: new replicas get one, departed ones lose theirs. */
  private watchWakes(origins: string[]): void {
    for (const [origin, ac] of this.wakers) {
      if (!origins.includes(origin)) {
        ac.abort();
        this.wakers.delete(origin);
      }
    }
    for (const origin of origins) {
      if (this.wakers.has(origin)) continue;
      const ac = new AbortController();
      this.wakers.set(origin, ac);
      void this.wakeLoop(origin, ac.signal);
    }
  }

  private async wakeLoop(origin: string, stop: AbortSignal): Promise<void> {
    const pause = (ms: number) => sleep(ms, stop);
    let seen: number | undefined;
    while (!stop.aborted) {
      try {
        const url = new URL(DEMAND_WAKE_PATH, origin);
        url.searchParams.set('seen', String(seen ?? -1));
        url.searchParams.set('wait', String(MAX_WAKE_WAIT_MS));
        const res = await fetch(url, {
          signal: AbortSignal.any([stop, AbortSignal.timeout(MAX_WAKE_WAIT_MS + 5_000)]),
        });
        if (!res.ok && res.status !== 404) throw new Error(`HTTP ${res.status}`);
        const version = res.ok ? ((await res.json()) as Partial<WakeAnswer>).version : undefined;
        if (!res.ok) await res.body?.cancel();
        // A gateway without wakes: the ticks alone, and ask again much later.
        if (typeof version !== 'number') {
          await pause(60_000);
          continue;
        }
        if (seen !== undefined && version !== seen) {
          void this.poll();
          await pause(this.opts.minWakeGapMs ?? 250);
        }
        seen = version;
      } catch {
        // The replica is going or gone; the next tick's DNS answer decides.
        if (!stop.aborted) await pause(this.opts.intervalMs);
      }
    }
  }

  /** http://<address>:<port> of every replica behind the gateway URL. */
  private async replicaOrigins(): Promise<string[]> {
    const base = new URL(this.opts.gatewayUrl);
    const host = base.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) return [base.origin];
    let addrs = await lookup(host, { all: true, family: 4 }).catch(() => []);
    if (addrs.length === 0) addrs = await lookup(host, { all: true, family: 6 });
    return addrs.map((a) => {
      const u = new URL(base.origin);
      u.hostname = a.family === 6 ? `[${a.address}]` : a.address;
      return u.origin;
    });
  }
}
