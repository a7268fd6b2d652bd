// The in-process engine of the event store for `selfless dev` without Redis: the
// same transitions as the Lua scripts (lua/*.lua document each), on plain maps.
// Each method runs without an await in the middle, so on one event loop every
// transition is as atomic as its script. Nothing survives a restart.
import {
  LeaseLost,
  NotDeadLettered,
  type DeadCondition,
  type DeadLetter,
  type Delivery,
  type EventStore,
  type NewEvent,
  type QueueStats,
  type QueuedEvent,
  type RetryUpdate,
} from './store.ts';

interface Stored {
  event: QueuedEvent;
  state: 'ready' | 'delayed' | 'leased' | 'dead';
  token: string;
  leaseUntil: number;
  dead?: { condition: DeadCondition; deadAt: number; record: string };
}

export class MemoryEventStore implements EventStore {
  readonly durable = false;
  private readonly events = new Map<string, Stored>();
  /** Ready ids, oldest first (retries and recovered leases jump to the front). */
  private ready: string[] = [];
  private readonly queues = new Map<string, string[]>();
  private readonly configs = new Map<string, string>();
  private readonly recursiveLoops = new Map<string, string>();
  private readonly schedules = new Map<string, number>();
  private readonly now: () => number;

  constructor(opts: { clock?: () => number } = {}) {
    this.now = opts.clock ?? Date.now;
  }

  private add(e: NewEvent, now: number, front = false): void {
    const event: QueuedEvent = {
      ...e,
      enqueuedAt: now,
      dueAt: now,
      invokes: 0,
      functionErrors: 0,
      systemRetries: 0,
    };
    this.events.set(e.id, { event, state: 'ready', token: '', leaseUntil: 0 });
    if (front) this.ready.unshift(e.id);
    else this.ready.push(e.id);
  }

  enqueue(e: NewEvent): Promise<boolean> {
    if (this.events.has(e.id)) return Promise.resolve(false);
    this.add(e, this.now());
    return Promise.resolve(true);
  }

  claim(max: number, leaseMs: number, token: string): Promise<QueuedEvent[]> {
    const now = this.now();
    for (const s of this.events.values()) {
      if (s.state === 'delayed' && s.event.dueAt <= now) {
        s.state = 'ready';
        this.ready.unshift(s.event.id);
      }
    }
    const taken = this.ready.splice(0, max);
    const out: QueuedEvent[] = [];
    for (const id of taken) {
      const s = this.events.get(id);
      if (!s) continue;
      s.state = 'leased';
      s.token = token;
      s.leaseUntil = now + leaseMs;
      out.push({ ...s.event });
    }
    return Promise.resolve(out);
  }

  extendLeases(ids: string[], leaseMs: number, token: string): Promise<number> {
    let n = 0;
    for (const id of ids) {
      const s = this.events.get(id);
      if (s?.state === 'leased' && s.token === token) {
        s.leaseUntil = this.now() + leaseMs;
        n++;
      }
    }
    return Promise.resolve(n);
  }

  private held(e: QueuedEvent, token: string): Stored {
    const s = this.events.get(e.id);
    if (!s || s.state !== 'leased' || s.token !== token) throw new LeaseLost(e.id);
    return s;
  }

  private deliver(d: Delivery | undefined, now: number): void {
    if (!d) return;
    if (d.kind === 'queue') {
      const q = this.queues.get(d.queue) ?? [];
      q.push(d.record);
      this.queues.set(d.queue, q);
    } else {
      this.add(
        {
          id: d.id,
          functionName: d.functionName,
          payload: d.record,
          requestId: d.id,
          ...(d.traceId !== undefined && { traceId: d.traceId }),
        },
        now,
      );
    }
  }

  complete(e: QueuedEvent, token: string, delivery?: Delivery): Promise<void> {
    try {
      this.held(e, token);
    } catch (err) {
      return Promise.reject(err);
    }
    this.events.delete(e.id);
    this.deliver(delivery, this.now());
    return Promise.resolve();
  }

  retry(e: QueuedEvent, token: string, dueAt: number, u: RetryUpdate): Promise<void> {
    let s: Stored;
    try {
      s = this.held(e, token);
    } catch (err) {
      return Promise.reject(err);
    }
    s.state = 'delayed';
    s.token = '';
    s.event = {
      ...s.event,
      dueAt,
      invokes: u.invokes,
      functionErrors: u.functionErrors,
      systemRetries: u.systemRetries,
    };
    return Promise.resolve();
  }

  deadLetter(
    e: QueuedEvent,
    token: string,
    condition: DeadCondition,
    record: string,
    delivery?: Delivery,
  ): Promise<void> {
    let s: Stored;
    try {
      s = this.held(e, token);
    } catch (err) {
      return Promise.reject(err);
    }
    const now = this.now();
    s.state = 'dead';
    s.token = '';
    s.event = { ...e };
    s.dead = { condition, deadAt: now, record };
    this.deliver(delivery, now);
    return Promise.resolve();
  }

  recoverExpiredLeases(max: number): Promise<number> {
    const now = this.now();
    let n = 0;
    for (const s of this.events.values()) {
      if (n >= max) break;
      if (s.state === 'leased' && s.leaseUntil <= now) {
        s.state = 'ready';
        s.token = '';
        this.ready.unshift(s.event.id);
        n++;
      }
    }
    return Promise.resolve(n);
  }

  redrive(functionName: string, id: string): Promise<void> {
    const s = this.events.get(id);
    if (!s || s.state !== 'dead' || s.event.functionName !== functionName) {
      return Promise.reject(new NotDeadLettered(id));
    }
    const now = this.now();
    delete s.dead;
    s.state = 'ready';
    s.event = {
      ...s.event,
      enqueuedAt: now,
      dueAt: now,
      invokes: 0,
      functionErrors: 0,
      systemRetries: 0,
    };
    this.ready.push(id);
    return Promise.resolve();
  }

  private deadOf(s: Stored | undefined, functionName: string): DeadLetter | undefined {
    if (!s?.dead || s.event.functionName !== functionName) return undefined;
    return { event: { ...s.event }, ...s.dead };
  }

  listDeadLetters(functionName: string, limit: number): Promise<DeadLetter[]> {
    const all = [...this.events.values()]
      .map((s) => this.deadOf(s, functionName))
      .filter((d): d is DeadLetter => d !== undefined)
      .sort((a, b) => b.deadAt - a.deadAt);
    return Promise.resolve(all.slice(0, limit));
  }

  getDeadLetter(functionName: string, id: string): Promise<DeadLetter | undefined> {
    return Promise.resolve(this.deadOf(this.events.get(id), functionName));
  }

  stats(): Promise<QueueStats> {
    const s: QueueStats = { ready: 0, delayed: 0, leased: 0 };
    for (const e of this.events.values()) {
      if (e.state === 'dead') continue;
      s[e.state]++;
      if (s.oldestEnqueuedAt === undefined || e.event.enqueuedAt < s.oldestEnqueuedAt) {
        s.oldestEnqueuedAt = e.event.enqueuedAt;
      }
    }
    return Promise.resolve(s);
  }

  deliverRecord(delivery: Delivery): Promise<void> {
    this.deliver(delivery, this.now());
    return Promise.resolve();
  }

  takeFromQueue(queue: string, max: number): Promise<string[]> {
    const q = this.queues.get(queue) ?? [];
    return Promise.resolve(q.splice(0, max));
  }

  getConfig(functionName: string): Promise<string | undefined> {
    return Promise.resolve(this.configs.get(functionName));
  }

  putConfig(functionName: string, json: string): Promise<void> {
    this.configs.set(functionName, json);
    return Promise.resolve();
  }

  deleteConfig(functionName: string): Promise<void> {
    this.configs.delete(functionName);
    return Promise.resolve();
  }

  getRecursiveLoop(functionName: string): Promise<string | undefined> {
    return Promise.resolve(this.recursiveLoops.get(functionName));
  }

  putRecursiveLoop(functionName: string, value: string): Promise<void> {
    this.recursiveLoops.set(functionName, value);
    return Promise.resolve();
  }

  scheduleNext(key: string, initial: number): Promise<number> {
    if (!this.schedules.has(key)) this.schedules.set(key, initial);
    return Promise.resolve(this.schedules.get(key)!);
  }

  fireSchedule(key: string, seen: number, next: number, e: NewEvent): Promise<boolean> {
    if (this.schedules.get(key) !== seen) return Promise.resolve(false);
    this.schedules.set(key, next);
    this.add(e, this.now());
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
