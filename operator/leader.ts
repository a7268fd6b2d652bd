// Leader election on a coordination.k8s.io Lease, as client-go does it: the holder
// renews the lease every retry period; a candidate takes it over only after it has
// seen the same lease record, unchanged, for a whole lease duration by its own clock
// (so clock skew between replicas cannot make two leaders). Every write carries the
// resourceVersion it read, so of two candidates racing for an expired lease the API
// server lets exactly one win. A leader that cannot renew within the renew deadline
// stops acting before its lease can expire for the others.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../lib/log.ts';
import { describeError, isConflict } from './errors.ts';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private lastRenew = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly roundWaiters: (() => void)[] = [];

  constructor(
    kc: k8s.KubeConfig,
    private readonly opts: LeaderElectionOptions,
  ) {
    this.api = kc.makeApiClient(k8s.CoordinationV1Api);
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Resolves when a campaign round begun after this call has finished: by then this
   * candidate has read the lease as it is now and acted on it (led, renewed or stood by).
   */
  nextRound(): Promise<void> {
    return new Promise((resolve) => this.roundWaiters.push(resolve));
  }

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      const waiting = this.roundWaiters.splice(0);
      await this.tryAcquireOrRenew().catch((err: unknown) => {
        if (!isConflict(err))
          this.opts.log.warn('lease update failed', { error: describeError(err) });
      });
      if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) this.lose();
      for (const resolve of waiting) resolve();
      if (!this.stopped) this.timer = setTimeout(tick, this.retryMs);
    };
    void tick();
  }

  /** Stops campaigning; a leader gives the lease up so a successor need not wait for it to expire. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.lose();
    const lease = await this.read();
    if (lease?.spec?.holderIdentity !== this.opts.identity) return;
    lease.spec.holderIdentity = undefined;
    lease.spec.leaseDurationSeconds = 1;
    await this.api
      .replaceNamespacedLease({ namespace: this.opts.namespace, name: this.opts.name, body: lease })
      .catch(() => undefined);
  }

  private lose(): void {
    if (!this.leading) return;
    this.leading = false;
    this.opts.log.warn('lost leadership', { identity: this.opts.identity });
    this.opts.onStoppedLeading();
  }

  private async read(): Promise<k8s.V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({
        namespace: this.opts.namespace,
        name: this.opts.name,
      });
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = new k8s.V1MicroTime();
    const mine: k8s.V1LeaseSpec = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.leaseMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    const lease = await this.read();
    if (!lease) {
      await this.api.createNamespacedLease({
        namespace: this.opts.namespace,
        body: { metadata: { name: this.opts.name, namespace: this.opts.namespace }, spec: mine },
      });
      return this.acquired();
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime, spec.leaseDurationSeconds]);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const held = spec.holderIdentity === this.opts.identity;
    const expired =
      !spec.holderIdentity ||
      Date.now() > this.observed.at + (spec.leaseDurationSeconds ?? 15) * 1000;
    if (!held && !expired) {
      if (this.leading) this.lose();
      return;
    }
    lease.spec = held
      ? { ...spec, renewTime: now }
      : { ...mine, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 };
    // A 409 here means another candidate wrote first: it leads, we retry later.
    await this.api.replaceNamespacedLease({
      namespace: this.opts.namespace,
      name: this.opts.name,
      body: lease,
    });
    this.acquired();
  }

  private acquired(): void {
    // A renewal in flight when stop() was called must not make us leader again.
    if (this.stopped) return;
    this.lastRenew = Date.now();
    if (this.leading) return;
    this.leading = true;
    this.opts.log.info('became leader', { identity: this.opts.identity, lease: this.opts.name });
    this.opts.onStartedLeading();
  }
}
