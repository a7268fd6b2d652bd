// Turns schedule triggers into async events. Every gateway replica runs one; each
// check reads a schedule's next tick from the store and, when it has passed, tries
// fireSchedule (a compare-and-set on that tick that also enqueues the event), so
// exactly one replica fires each tick. The tick after a firing is computed from
// "now": after downtime a schedule fires once, not once per missed tick.
import { createHash, randomUUID } from 'node:crypto';
import { keyOf, type FunctionDefinition } from '../../lib/function.ts';
import type { Logger } from '../../lib/log.ts';
import { scheduleRuleArn } from '../../lib/names.ts';
import type { EventStore } from '../async/store.ts';
import type { Account } from '../invoker.ts';
import type { FunctionRegistry } from '../registry.ts';
import { parseSchedule, type Schedule } from '../../lib/schedule-expression.ts';

export interface ScheduleTrigger {
  fn: FunctionDefinition;
  /** Stable across replicas: function, trigger position and expression. */
  key: string;
  schedule: Schedule;
  input: unknown;
}

/** The schedule triggers of the registry's functions; invalid expressions are skipped and logged. */
export function scheduleTriggers(registry: FunctionRegistry, log?: Logger): ScheduleTrigger[] {
  const out: ScheduleTrigger[] = [];
  for (const fn of registry.list()) {
    fn.spec.triggers.forEach((t, i) => {
      if (!('schedule' in t)) return;
      try {
        const schedule = parseSchedule(t.schedule.expression);
        const hash = createHash('sha256').update(t.schedule.expression).digest('hex').slice(0, 12);
        out.push({ fn, key: `${keyOf(fn)}:${i}:${hash}`, schedule, input: t.schedule.input });
      } catch (err) {
        log?.error('schedule not valid', { function: keyOf(fn), err: (err as Error).message });
      }
    });
  }
  return out;
}

/** The payload of a firing: the trigger's input, else EventBridge's Scheduled Event. */
export function scheduledEvent(t: ScheduleTrigger, tick: number, account: Account): string {
  if (t.input !== undefined) return JSON.stringify(t.input);
  return JSON.stringify({
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: account.accountId,
    time: new Date(tick).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: account.region,
    resources: [
      scheduleRuleArn(account.region, account.accountId, `selfless-${t.key.replace(/:/g, '-')}`),
    ],
    detail: {},
  });
}

/** The next `count` firing times of a trigger after `from`. */
export function upcoming(t: ScheduleTrigger, from: number, count: number): number[] {
  const out: number[] = [];
  let at: number | undefined = from;
  while (out.length < count && (at = t.schedule.next(at)) !== undefined) out.push(at);
  return out;
}

export function makeScheduler(deps: {
  store: EventStore;
  registry: FunctionRegistry;
  account: Account;
  clock: () => number;
  log: Logger;
  onFired: (fn: string) => void;
}) {
  const { store, registry, account, clock, log } = deps;
  let timer: NodeJS.Timeout | undefined;
  let checking: Promise<number> | undefined;

  async function checkOne(t: ScheduleTrigger, now: number): Promise<boolean> {
    const first = t.schedule.next(now);
    if (first === undefined) return false;
    // The first replica to see a schedule sets its first tick; nothing fires for
    // ticks from before the schedule existed.
    const due = await store.scheduleNext(t.key, first);
    if (due > now) return false;
    const following = t.schedule.next(now) ?? Number.MAX_SAFE_INTEGER;
    const id = randomUUID();
    const fired = await store.fireSchedule(t.key, due, following, {
      id,
      functionName: keyOf(t.fn),
      payload: scheduledEvent(t, due, account),
      requestId: id,
    });
    if (fired) {
      log.info('schedule fired', {
        function: keyOf(t.fn),
        expression: t.schedule.expression,
        tick: new Date(due).toISOString(),
      });
      deps.onFired(keyOf(t.fn));
    }
    return fired;
  }

  /** One pass over every schedule; resolves to the number of firings by this replica. */
  async function check(): Promise<number> {
    const now = clock();
    let fired = 0;
    for (const t of scheduleTriggers(registry)) {
      try {
        if (await checkOne(t, now)) fired++;
      } catch (err) {
        log.warn('schedule check failed', { function: keyOf(t.fn), err: (err as Error).message });
      }
    }
    return fired;
  }

  return {
    check,
    start(everyMs: number): void {
      timer = setInterval(() => {
        checking ??= check().finally(() => (checking = undefined));
      }, everyMs);
    },
    stop(): void {
      clearInterval(timer);
    },
  };
}

export type Scheduler = ReturnType<typeof makeScheduler>;
