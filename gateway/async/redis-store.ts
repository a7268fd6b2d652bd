// The Redis engine of the event store: every state transition is one Lua script
// (lua/<transition>.lua, keys and return codes documented at its top) and one
// wrapper below; negative return codes become typed errors in `check`. Keys share
// one prefix in braces ({selfless} by default) so they live in one cluster slot.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
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

const SCRIPTS = {
  enqueueEvent: 3,
  claimEvents: 3,
  extendLeases: 1,
  completeEvent: 6,
  retryEvent: 3,
  deadLetterEvent: 7,
  recoverExpiredLeases: 2,
  redriveEvent: 4,
  fireSchedule: 4,
} as const;
type ScriptName = keyof typeof SCRIPTS;
type Run = (...args: (string | number)[]) => Promise<unknown>;

export function asyncKeys(prefix: string) {
  return {
    ready: `${prefix}:ready`,
    delayed: `${prefix}:delayed`,
    leased: `${prefix}:leased`,
    ages: `${prefix}:ages`,
    eventPrefix: `${prefix}:ev:`,
    event: (id: string) => `${prefix}:ev:${id}`,
    dead: (fn: string) => `${prefix}:dead:${fn}`,
    queue: (name: string) => `${prefix}:queue:${name}`,
    config: (fn: string) => `${prefix}:config:${fn}`,
    recursion: (fn: string) => `${prefix}:recursion:${fn}`,
    schedule: (key: string) => `${prefix}:schedule:${key}`,
  };
}

function check(code: unknown, id: string, missing: (id: string) => Error): void {
  if (typeof code === 'number' && code < 0) throw missing(id);
}

function eventFields(e: NewEvent): string[] {
  const f = ['fn', e.functionName, 'payload', e.payload, 'requestId', e.requestId];
  if (e.clientContext !== undefined) f.push('clientContext', e.clientContext);
  if (e.traceId !== undefined) f.push('traceId', e.traceId);
  return f;
}

function toEvent(id: string, h: Record<string, string>): QueuedEvent {
  const e: QueuedEvent = {
    id,
    functionName: h.fn ?? '',
    payload: h.payload ?? '{}',
    requestId: h.requestId ?? id,
    enqueuedAt: Number(h.enqueuedAt),
    dueAt: Number(h.dueAt),
    invokes: Number(h.invokes ?? 0),
    functionErrors: Number(h.functionErrors ?? 0),
    systemRetries: Number(h.systemRetries ?? 0),
  };
  if (h.clientContext !== undefined) e.clientContext = h.clientContext;
  if (h.traceId !== undefined) e.traceId = h.traceId;
  return e;
}

function pairs(flat: string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i]!] = flat[i + 1]!;
  return h;
}

export class RedisEventStore implements EventStore {
  readonly durable = true;
  private readonly k: ReturnType<typeof asyncKeys>;
  private readonly run: Record<ScriptName, Run>;

  /** `redis` should fail fast when disconnected (see connectRedis) so no call hangs. */
  constructor(
    private readonly redis: Redis,
    opts: { prefix?: string; clock?: () => number } = {},
  ) {
    this.k = asyncKeys(opts.prefix ?? '{selfless}');
    this.now = opts.clock ?? Date.now;
    const dir = join(import.meta.dirname, 'lua');
    const run = {} as Record<ScriptName, Run>;
    for (const [name, numberOfKeys] of Object.entries(SCRIPTS) as [ScriptName, number][]) {
      const cmd = `selfless_${name}`;
      if (!(cmd in redis)) {
        redis.defineCommand(cmd, {
          numberOfKeys,
          lua: readFileSync(join(dir, `${name}.lua`), 'utf8'),
        });
      }
      run[name] = (...args) => (redis as unknown as Record<string, Run>)[cmd]!.call(redis, ...args);
    }
    this.run = run;
  }

  private readonly now: () => number;

  async enqueue(e: NewEvent): Promise<boolean> {
    const k = this.k;
    const code = await this.run.enqueueEvent(
      k.ready,
      k.ages,
      k.event(e.id),
      e.id,
      this.now(),
      ...eventFields(e),
    );
    return code === 1;
  }

  async claim(max: number, leaseMs: number, token: string): Promise<QueuedEvent[]> {
    const k = this.k;
    const now = this.now();
    const rows = (await this.run.claimEvents(
      k.ready,
      k.delayed,
      k.leased,
      k.eventPrefix,
      now,
      now + leaseMs,
      max,
      token,
    )) as string[][];
    return rows.map(([id, ...flat]) => toEvent(id!, pairs(flat)));
  }

  async extendLeases(ids: string[], leaseMs: number, token: string): Promise<number> {
    if (ids.length === 0) return 0;
    const k = this.k;
    return Number(
      await this.run.extendLeases(k.leased, k.eventPrefix, this.now() + leaseMs, token, ...ids),
    );
  }

  private deliveryArgs(d: Delivery | undefined) {
    if (!d)
      return {
        key: this.k.queue('-'),
        newKey: this.k.event('-'),
        args: ['none', '', '', '', ''],
      };
    if (d.kind === 'queue') {
      return {
        key: this.k.queue(d.queue),
        newKey: this.k.event('-'),
        args: ['queue', d.record, '', '', ''],
      };
    }
    return {
      key: this.k.queue('-'),
      newKey: this.k.event(d.id),
      args: ['function', d.record, d.id, d.functionName, d.traceId ?? ''],
    };
  }

  async complete(e: QueuedEvent, token: string, delivery?: Delivery): Promise<void> {
    const k = this.k;
    const d = this.deliveryArgs(delivery);
    const [kind, record, newId, newFn, newTrace] = d.args;
    const code = await this.run.completeEvent(
      k.leased,
      k.ages,
      k.event(e.id),
      k.ready,
      d.key,
      d.newKey,
      e.id,
      token,
      this.now(),
      kind!,
      record!,
      newId!,
      newFn!,
      newTrace!,
    );
    check(code, e.id, (id) => new LeaseLost(id));
  }

  async retry(e: QueuedEvent, token: string, dueAt: number, u: RetryUpdate): Promise<void> {
    const k = this.k;
    const code = await this.run.retryEvent(
      k.leased,
      k.delayed,
      k.event(e.id),
      e.id,
      token,
      dueAt,
      'invokes',
      u.invokes,
      'functionErrors',
      u.functionErrors,
      'systemRetries',
      u.systemRetries,
      'lastError',
      u.lastError,
    );
    check(code, e.id, (id) => new LeaseLost(id));
  }

  async deadLetter(
    e: QueuedEvent,
    token: string,
    condition: DeadCondition,
    record: string,
    delivery?: Delivery,
  ): Promise<void> {
    const k = this.k;
    const d = this.deliveryArgs(delivery);
    const [kind, , newId, newFn, newTrace] = d.args;
    const code = await this.run.deadLetterEvent(
      k.leased,
      k.ages,
      k.event(e.id),
      k.dead(e.functionName),
      k.ready,
      d.key,
      d.newKey,
      e.id,
      token,
      this.now(),
      condition,
      record,
      kind!,
      newId!,
      newFn!,
      newTrace!,
    );
    check(code, e.id, (id) => new LeaseLost(id));
  }

  async recoverExpiredLeases(max: number): Promise<number> {
    const k = this.k;
    return Number(
      await this.run.recoverExpiredLeases(k.leased, k.ready, k.eventPrefix, this.now(), max),
    );
  }

  async redrive(functionName: string, id: string): Promise<void> {
    const k = this.k;
    const code = await this.run.redriveEvent(
      k.dead(functionName),
      k.ready,
      k.ages,
      k.event(id),
      id,
      this.now(),
    );
    check(code, id, (i) => new NotDeadLettered(i));
  }

  async listDeadLetters(functionName: string, limit: number): Promise<DeadLetter[]> {
    const ids = await this.redis.zrevrange(this.k.dead(functionName), 0, limit - 1);
    const out = await Promise.all(ids.map((id) => this.getDeadLetter(functionName, id)));
    return out.filter((d): d is DeadLetter => d !== undefined);
  }

  async getDeadLetter(functionName: string, id: string): Promise<DeadLetter | undefined> {
    const h = await this.redis.hgetall(this.k.event(id));
    if (h.state !== 'dead' || h.fn !== functionName) return undefined;
    return {
      event: toEvent(id, h),
      condition: h.condition as DeadCondition,
      deadAt: Number(h.deadAt),
      record: h.record ?? '',
    };
  }

  async stats(): Promise<QueueStats> {
    const k = this.k;
    const [ready, delayed, leased, oldest] = await Promise.all([
      this.redis.llen(k.ready),
      this.redis.zcard(k.delayed),
      this.redis.zcard(k.leased),
      this.redis.zrange(k.ages, 0, 0, 'WITHSCORES'),
    ]);
    const s: QueueStats = { ready, delayed, leased };
    if (oldest[1] !== undefined) s.oldestEnqueuedAt = Number(oldest[1]);
    return s;
  }

  async deliverRecord(d: Delivery): Promise<void> {
    if (d.kind === 'queue') await this.redis.rpush(this.k.queue(d.queue), d.record);
    else {
      await this.enqueue({
        id: d.id,
        functionName: d.functionName,
        payload: d.record,
        requestId: d.id,
        ...(d.traceId !== undefined && { traceId: d.traceId }),
      });
    }
  }

  async takeFromQueue(queue: string, max: number): Promise<string[]> {
    return (await this.redis.lpop(this.k.queue(queue), max)) ?? [];
  }

  async getConfig(functionName: string): Promise<string | undefined> {
    return (await this.redis.get(this.k.config(functionName))) ?? undefined;
  }

  async putConfig(functionName: string, json: string): Promise<void> {
    await this.redis.set(this.k.config(functionName), json);
  }

  async deleteConfig(functionName: string): Promise<void> {
    await this.redis.del(this.k.config(functionName));
  }

  async getRecursiveLoop(functionName: string): Promise<string | undefined> {
    return (await this.redis.get(this.k.recursion(functionName))) ?? undefined;
  }

  async putRecursiveLoop(functionName: string, value: string): Promise<void> {
    await this.redis.set(this.k.recursion(functionName), value);
  }

  async scheduleNext(key: string, initial: number): Promise<number> {
    const skey = this.k.schedule(key);
    await this.redis.set(skey, String(initial), 'NX');
    return Number(await this.redis.get(skey));
  }

  async fireSchedule(key: string, seen: number, next: number, e: NewEvent): Promise<boolean> {
    const k = this.k;
    const code = await this.run.fireSchedule(
      k.schedule(key),
      k.ready,
      k.ages,
      k.event(e.id),
      String(seen),
      String(next),
      e.id,
      this.now(),
      e.functionName,
      e.payload,
    );
    return code === 1;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
