// The dispatcher on both engines (Redis through the Lua scripts, and memory for
// `selfless dev`): Lambda's retry counts and timing per cause, event age expiry,
// both destinations with Lambda's record, redrive, and lease recovery after a
// dispatcher dies. Functions are in-process stubs: what is under test is the queue.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import type { FunctionEventInvokeConfig } from '../../lib/function.ts';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../../test/services/index.ts';
import type { InvokeRequest } from '../invoker.ts';
import { FunctionRegistry } from '../registry.ts';
import { EventInvokeConfigs } from './config.ts';
import { makeDispatcher, type Dispatcher } from './dispatcher.ts';
import { MemoryEventStore } from './memory-store.ts';
import { makeAsyncMetrics } from './metrics.ts';
import { connectRedis } from './redis.ts';
import { RedisEventStore } from './redis-store.ts';
import { LeaseLost, type EventStore } from './store.ts';
import { eventually, outcome, testFunction, type Behaviour } from '../../test/support/gateway.ts';

const log = makeLogger('test', { level: 'error' });
const DELAYS = { functionErrorMs: [300, 600], backoffBaseMs: 100, backoffMaxMs: 400 };
/** How far `until` moves the clock at a time; every delay above is a multiple of it. */
const STEP_MS = 10;
const engines: Record<string, (clock: () => number) => Promise<EventStore>> = {
  redis: async (clock) =>
    new RedisEventStore(await connectRedis((await testServices()).redisUrl, log), {
      prefix: `{t-${randomUUID()}}`,
      clock,
    }),
  memory: (clock) => Promise.resolve(new MemoryEventStore({ clock })),
};

interface Harness {
  store: EventStore;
  dispatcher: Dispatcher;
  /** Attempts per function, each at a time on the harness clock (ms since it started). */
  calls: Map<string, { at: number; req: InvokeRequest }[]>;
  metrics: ReturnType<typeof makeAsyncMetrics>;
  send(fn: string, payload?: unknown): Promise<string>;
  /** Moves the clock that the dispatcher, the store and the metrics share. */
  advanceClock(ms: number): void;
  /**
   * Resolves once the dispatcher, with nothing in flight, has claimed at the current
   * time and found nothing: whatever is due by now has run.
   */
  settle(): Promise<void>;
  /** Resolves after a lease upkeep (extend and recover) that began after this call. */
  leaseUpkeep(): Promise<void>;
  /** Settles, then moves the clock STEP_MS and settles again, until `check` gives a value. */
  until<T>(what: string, check: () => Promise<T | undefined> | T | undefined): Promise<T>;
}

const open: Harness[] = [];
after(async () => {
  for (const h of open) {
    await h.dispatcher.stop();
    await h.store.close();
  }
});

async function harness(
  engine: string,
  functions: {
    name: string;
    eic?: Partial<FunctionEventInvokeConfig>;
    behave: (n: number) => Behaviour;
  }[],
): Promise<Harness> {
  const t0 = Date.now();
  let now = t0;
  const clock = () => now;
  const store = await engines[engine]!(clock);
  const idleWaiters = new Set<() => void>();
  const upkeepWaiters = new Set<() => void>();
  // Only a call that begins after a waiter registered may answer it: a claim already
  // under way may have read the queue before the clock moved.
  const watched = new Proxy(store, {
    get(target, prop) {
      if (prop === 'claim') {
        return async (max: number, leaseMs: number, token: string) => {
          const waiting = [...idleWaiters];
          const busy = dispatcher.inFlight() > 0;
          const got = await target.claim(max, leaseMs, token);
          if (!busy && got.length === 0) {
            for (const w of waiting) {
              idleWaiters.delete(w);
              w();
            }
          }
          return got;
        };
      }
      if (prop === 'recoverExpiredLeases') {
        return async (max: number) => {
          const waiting = [...upkeepWaiters];
          const n = await target.recoverExpiredLeases(max);
          for (const w of waiting) {
            upkeepWaiters.delete(w);
            w();
          }
          return n;
        };
      }
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const registry = new FunctionRegistry();
  for (const f of functions) registry.put(testFunction(f.name, f.eic));
  const calls = new Map<string, { at: number; req: InvokeRequest }[]>();
  const metrics = makeAsyncMetrics(new Registry(), store, clock);
  const dispatcher = makeDispatcher({
    store: watched,
    registry,
    configs: new EventInvokeConfigs(store, 0),
    functionArn: (n) => `arn:aws:lambda:us-east-1:000000000000:function:${n}`,
    metrics,
    log,
    clock,
    options: { concurrency: 16, batch: 16, leaseMs: 1_000, pollMs: 10, delays: DELAYS },
    invoke: (fn, req) => {
      const list = calls.get(fn.name) ?? [];
      list.push({ at: now - t0, req });
      calls.set(fn.name, list);
      const f = functions.find((x) => x.name === fn.name)!;
      return Promise.resolve().then(() =>
        outcome(req, f.behave(list.length), { echo: JSON.parse(req.payload.toString()) }),
      );
    },
  });
  dispatcher.start();
  const settle = () =>
    new Promise<void>((resolve) => {
      idleWaiters.add(resolve);
      dispatcher.wake();
    });
  const h: Harness = {
    store,
    dispatcher,
    calls,
    metrics,
    async send(fn, payload = { n: 1 }) {
      const id = randomUUID();
      await store.enqueue({
        id,
        functionName: fn,
        payload: JSON.stringify(payload),
        requestId: id,
      });
      return id;
    },
    advanceClock(ms) {
      now += ms;
    },
    settle,
    leaseUpkeep: () => new Promise<void>((resolve) => upkeepWaiters.add(resolve)),
    async until(what, check) {
      for (;;) {
        await settle();
        const v = await check();
        if (v !== undefined && v !== false) return v;
        if (now - t0 > 60_000) throw new Error(`${what}: not by a minute on the harness clock`);
        now += STEP_MS;
      }
    },
  };
  open.push(h);
  return h;
}

async function counter(
  c: { get(): Promise<{ values: { value: number; labels: object }[] }> },
  labels: Record<string, string>,
) {
  const v = (await c.get()).values.find((x) =>
    Object.entries(labels).every(([k, val]) => (x.labels as Record<string, string>)[k] === val),
  );
  return v?.value ?? 0;
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

for (const engine of Object.keys(engines)) {
  describe(`async dispatcher on ${engine}`, () => {
    test('a function error is retried maximumRetryAttempts times, the 1st then the 2nd delay apart, then dead-lettered to onFailure', async () => {
      const h = await harness(engine, [
        {
          name: 'fails',
          eic: { destinationConfig: { onFailure: { destination: 'queue:failed' } } },
          behave: () => 'error',
        },
      ]);
      const id = await h.send('fails', { order: 7 });
      const [record] = await h.until('the failure record', async () => {
        const got = await h.store.takeFromQueue('failed', 10);
        return got.length ? got : undefined;
      });
      const times = h.calls.get('fails')!.map((c) => c.at);
      assert.equal(times.length, 3, 'one attempt and two retries');
      assert.deepEqual(gaps(times), [300, 600], 'retried after 300 ms, then after 600 ms');
      const r = JSON.parse(record!);
      assert.equal(r.version, '1.0');
      assert.ok(!Number.isNaN(Date.parse(r.timestamp)));
      assert.deepEqual(r.requestContext, {
        requestId: id,
        functionArn: 'arn:aws:lambda:us-east-1:000000000000:function:fails:$LATEST',
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      });
      assert.deepEqual(r.requestPayload, { order: 7 });
      assert.deepEqual(r.responseContext, {
        statusCode: 200,
        executedVersion: '$LATEST',
        functionError: 'Unhandled',
      });
      assert.deepEqual(r.responsePayload, { errorType: 'Error', errorMessage: 'boom' });
      assert.equal(await counter(h.metrics.retries, { cause: 'function_error' }), 2);
      assert.equal(
        await counter(h.metrics.deadLetters, { function: 'fails', condition: 'RetriesExhausted' }),
        1,
      );
      const dead = await h.store.getDeadLetter('fails', id);
      assert.equal(dead?.condition, 'RetriesExhausted');
      assert.equal(dead?.event.payload, '{"order":7}');
    });

    test('maximumRetryAttempts 0 means one attempt and no retry', async () => {
      const h = await harness(engine, [
        { name: 'once', eic: { maximumRetryAttempts: 0 }, behave: () => 'error' },
      ]);
      const id = await h.send('once');
      await h.until('dead letter', () => h.store.getDeadLetter('once', id));
      // Past every retry delay and backoff: a retry, had one been scheduled, has run now.
      h.advanceClock(1_000);
      await h.settle();
      assert.equal(h.calls.get('once')!.length, 1);
    });

    test('throttles are retried with exponential backoff and do not use up the function-error retries', async () => {
      const h = await harness(engine, [
        {
          name: 'busy',
          eic: { destinationConfig: { onSuccess: { destination: 'queue:ok' } } },
          behave: (n) => (n <= 4 ? 'throttle' : n === 5 ? 'error' : 'ok'),
        },
      ]);
      await h.send('busy');
      const [record] = await h.until('the success record', async () => {
        const got = await h.store.takeFromQueue('ok', 10);
        return got.length ? got : undefined;
      });
      const times = h.calls.get('busy')!.map((c) => c.at);
      // 100, 200, 400, capped at 400; then the function error waits the first retry delay.
      assert.deepEqual(gaps(times), [100, 200, 400, 400, 300]);
      const r = JSON.parse(record!);
      assert.equal(r.requestContext.condition, 'Success');
      assert.equal(r.requestContext.approximateInvokeCount, 2, 'throttled attempts never ran');
      assert.deepEqual(r.responsePayload, { echo: { n: 1 } });
      assert.deepEqual(r.responseContext, { statusCode: 200, executedVersion: '$LATEST' });
      assert.equal(await counter(h.metrics.retries, { cause: 'throttle' }), 4);
      assert.equal(await counter(h.metrics.retries, { cause: 'function_error' }), 1);
    });

    test('system errors are retried with backoff until maximumEventAgeInSeconds, then EventAgeExceeded goes to an onFailure function', async () => {
      const h = await harness(engine, [
        {
          name: 'lost',
          eic: {
            maximumEventAgeInSeconds: 1,
            destinationConfig: { onFailure: { destination: 'function:audit' } },
          },
          behave: () => 'crash',
        },
        { name: 'audit', behave: () => 'ok' },
      ]);
      const id = await h.send('lost');
      const audit = await h.until('the audit function called', () => h.calls.get('audit')?.[0]);
      // Attempts at 0, 100, 300, 700 ms; the next (at 1100 ms) would be past 1 s.
      assert.deepEqual(
        h.calls.get('lost')!.map((c) => c.at),
        [0, 100, 300, 700],
      );
      assert.equal(audit.at, 700, 'dead-lettered as soon as the next attempt would be too old');
      const r = JSON.parse(audit.req.payload.toString());
      assert.equal(r.requestContext.requestId, id);
      assert.equal(r.requestContext.condition, 'EventAgeExceeded');
      assert.equal(r.requestContext.approximateInvokeCount, 4);
      assert.equal(r.responseContext.statusCode, 500);
      assert.deepEqual(r.responsePayload, {
        errorType: 'ServiceException',
        errorMessage: 'environment lost',
      });
      assert.equal(await counter(h.metrics.retries, { cause: 'system_error' }), 3);
    });

    test('an event already too old when claimed is dead-lettered without running', async () => {
      const h = await harness(engine, [
        {
          name: 'late',
          eic: { maximumEventAgeInSeconds: 0.2 },
          behave: (n) => (n === 1 ? 'throttle' : 'ok'),
        },
      ]);
      await h.dispatcher.stop();
      const id = await h.send('late');
      h.advanceClock(300);
      h.dispatcher.start();
      const dead = await h.until('dead letter', () => h.store.getDeadLetter('late', id));
      assert.equal(dead.condition, 'EventAgeExceeded');
      assert.equal(h.calls.get('late'), undefined);
    });

    test('a redriven dead letter runs again with fresh counters and leaves the dead letters', async () => {
      let fixed = false;
      const h = await harness(engine, [
        { name: 'flaky', eic: { maximumRetryAttempts: 0 }, behave: () => (fixed ? 'ok' : 'error') },
      ]);
      const id = await h.send('flaky', { x: 1 });
      await eventually('dead letter', () => h.store.getDeadLetter('flaky', id));
      assert.deepEqual(
        (await h.store.listDeadLetters('flaky', 10)).map((d) => d.event.id),
        [id],
      );
      fixed = true;
      await h.store.redrive('flaky', id);
      h.dispatcher.wake();
      await eventually('second run', () => (h.calls.get('flaky')!.length === 2 ? true : undefined));
      await eventually('dead letter gone', async () =>
        (await h.store.listDeadLetters('flaky', 10)).length === 0 ? true : undefined,
      );
      assert.equal(h.calls.get('flaky')![1]!.req.requestId, id, 'same request id');
      await assert.rejects(h.store.redrive('flaky', id), /no dead letter/);
      const s = await eventually('queue empty', async () => {
        const st = await h.store.stats();
        return st.ready + st.delayed + st.leased === 0 ? st : undefined;
      });
      assert.equal(s.oldestEnqueuedAt, undefined);
    });

    test('events leased by a dispatcher that died run again once the lease expires; its late answer is refused', async () => {
      const h = await harness(engine, [{ name: 'work', behave: () => 'ok' }]);
      await h.dispatcher.stop();
      const id = await h.send('work');
      const [taken] = await h.store.claim(10, 300, 'dead-dispatcher');
      assert.equal(taken?.id, id);
      h.dispatcher.start();
      h.advanceClock(299);
      await h.leaseUpkeep();
      await h.settle();
      assert.equal(h.calls.get('work'), undefined, 'not run while the lease holds');
      h.advanceClock(1);
      const run = await eventually('run after expiry', () => h.calls.get('work')?.[0]);
      assert.equal(run.at, 300, 'run once the lease expired');
      await assert.rejects(h.store.complete(taken!, 'dead-dispatcher'), LeaseLost);
    });
  });
}
