// How many workers a Function gets. One worker runs one invocation at a time (as a
// Lambda execution environment does), or perExecutionEnvironmentMaxConcurrency of
// them (Lambda Managed Instances), so demand (in flight + queued events) divided by
// that, rounded up, is the number of workers wanted; provisioned and reserved
// concurrency are events too. Scaling follows the highest demand seen over a recent window,
// so a burst scales up at once while scaling down (and to zero) waits until the
// window has passed without that demand: a function called every few seconds keeps
// its warm workers. Provisioned concurrency is the floor; the reservation and the
// operator's cap are the ceiling.
export interface ScaleInput {
  /** Highest demand over the window; undefined when the gateway did not answer. */
  recentDemand: number | undefined;
  /** Replicas the Deployment has now (0 when it does not exist). */
  current: number;
  provisioned: number;
  reserved?: number;
  maxReplicas: number;
  /** Events one worker runs at once; default 1. */
  maxConcurrency?: number;
}

export function desiredReplicas(i: ScaleInput): number {
  const workers = (events: number) => Math.ceil(events / (i.maxConcurrency ?? 1));
  const ceiling = Math.min(i.maxReplicas, workers(i.reserved ?? Infinity));
  // Without a report, hold what is there: never scale down on missing data.
  const wanted = i.recentDemand === undefined ? i.current : workers(i.recentDemand);
  return Math.min(ceiling, Math.max(workers(i.provisioned), wanted));
}

/**
 * Demand samples per function over a sliding window. `recent` is the highest
 * sample still in the window, and how long until that sample leaves it (when the
 * answer can next go down).
 */
export class DemandWindow {
  private readonly samples = new Map<string, { at: number; demand: number }[]>();
  /** The last answer given per key, so a change (up, or aging out) is reported once. */
  private readonly reported = new Map<string, number>();
  private known = false;

  constructor(private readonly windowMs: number) {}

  /** One complete report (functions absent from it had no demand). Returns keys whose recent demand changed. */
  record(report: Map<string, number>, now = Date.now()): string[] {
    const wasKnown = this.known;
    this.known = true;
    const changed: string[] = [];
    for (const key of new Set([
      ...report.keys(),
      ...this.samples.keys(),
      ...this.reported.keys(),
    ])) {
      const list = (this.samples.get(key) ?? []).filter((s) => now - s.at < this.windowMs);
      const d = report.get(key) ?? 0;
      if (d > 0) list.push({ at: now, demand: d });
      if (list.length > 0) this.samples.set(key, list);
      else this.samples.delete(key);
      const demand = this.recent(key, now).demand!;
      if (!wasKnown || this.reported.get(key) !== demand) changed.push(key);
      if (demand > 0) this.reported.set(key, demand);
      else this.reported.delete(key);
    }
    return changed;
  }

  /** The gateway could not be asked: demand is unknown until the next report. */
  unknown(): void {
    this.known = false;
  }

  recent(key: string, now = Date.now()): { demand: number | undefined; expiresInMs?: number } {
    if (!this.known) return { demand: undefined };
    const live = (this.samples.get(key) ?? []).filter((s) => now - s.at < this.windowMs);
    if (live.length === 0) return { demand: 0 };
    let max = live[0]!;
    for (const s of live) if (s.demand >= max.demand) max = s;
    return { demand: max.demand, expiresInMs: this.windowMs - (now - max.at) };
  }
}
