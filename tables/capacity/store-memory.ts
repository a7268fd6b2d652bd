// Bucket states in this process: the budget of a table when one replica serves it
// (selfless dev, or no Redis configured). Every step is synchronous, so take() is
// atomic with respect to every other request of the process.
import {
  canPay,
  debtFloor,
  minuteOf,
  refill,
  type BucketState,
  type BucketStore,
  type Charge,
  type Draw,
} from './buckets.ts';

const keptMinutes = 60;

export class MemoryBucketStore implements BucketStore {
  private readonly buckets = new Map<string, BucketState>();
  private readonly minutes = new Map<string, Map<number, number>>();

  private count(key: string, now: number, units: number): void {
    let m = this.minutes.get(key);
    if (!m) this.minutes.set(key, (m = new Map()));
    const minute = minuteOf(now);
    m.set(minute, (m.get(minute) ?? 0) + units);
    for (const old of m.keys()) if (old <= minute - keptMinutes) m.delete(old);
  }

  take(draws: Draw[], now: number): Promise<number> {
    const states = draws.map((d) => refill(this.buckets.get(d.spec.key), d.spec, now));
    const failed = draws.findIndex((d, i) => !canPay(states[i]!.tokens, d));
    if (failed >= 0) return Promise.resolve(failed);
    draws.forEach((d, i) => {
      const s = states[i]!;
      const units = d.mode === 'reserve' ? d.units : 0;
      this.buckets.set(d.spec.key, { tokens: s.tokens - units, at: s.at });
      if (units) this.count(d.spec.key, now, units);
    });
    return Promise.resolve(-1);
  }

  charge(charges: Charge[], now: number): Promise<void> {
    for (const c of charges) {
      const s = refill(this.buckets.get(c.spec.key), c.spec, now);
      this.buckets.set(c.spec.key, {
        tokens: Math.max(debtFloor(c.spec), s.tokens - c.units),
        at: s.at,
      });
      this.count(c.spec.key, now, c.units);
    }
    return Promise.resolve();
  }

  consumed(key: string, now: number, minutes: number): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    const m = this.minutes.get(key);
    const last = minuteOf(now);
    for (let minute = last - minutes + 1; minute <= last; minute++) {
      out.set(minute, m?.get(minute) ?? 0);
    }
    return Promise.resolve(out);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
