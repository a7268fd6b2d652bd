// Schedules on real Redis with a test clock: with two gateways checking the same
// schedule, rate(1 minute) fires exactly once per tick; after downtime it fires
// once, not once per missed tick; each firing is one async event whose payload is
// the trigger's input or EventBridge's Scheduled Event.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../../test/services/index.ts';
import { makeGateway, type Gateway } from '../app.ts';
import { connectRedis } from '../async/redis.ts';
import { RedisEventStore } from '../async/redis-store.ts';
import { makeAsync } from '../async/service.ts';
import { inlineDriver, testFunction } from '../../test/support/gateway.ts';
import { FunctionRegistry } from '../registry.ts';
import { scheduleTriggers, upcoming } from './scheduler.ts';

const log = makeLogger('test', { level: 'error' });
const gateways: Gateway[] = [];
after(async () => {
  for (const g of gateways) await g.close();
});

describe('scheduler', () => {
  test('rate(1 minute) fires once per tick with two gateways, and once after downtime', async () => {
    const { redisUrl } = await testServices();
    const prefix = `{sched-${randomUUID()}}`;
    let now = Date.parse('2026-03-01T12:00:30Z');
    const clock = () => now;
    const registry = new FunctionRegistry();
    registry.put(
      testFunction('tick', {}, { triggers: [{ schedule: { expression: 'rate(1 minute)' } }] }),
    );
    registry.put(
      testFunction(
        'report',
        {},
        {
          triggers: [{ schedule: { expression: 'cron(0 6 * * ? *)', input: { kind: 'daily' } } }],
        },
      ),
    );
    for (let i = 0; i < 2; i++) {
      gateways.push(
        makeGateway({
          registry,
          log,
          driver: inlineDriver({}),
          async: makeAsync({
            store: new RedisEventStore(await connectRedis(redisUrl, log), { prefix, clock }),
            clock,
            dispatch: false,
            scheduleCheckMs: 3_600_000,
          }),
        }),
      );
    }
    const [a, b] = gateways.map((g) => g.async!);
    const checkBoth = async () =>
      (await Promise.all([a!.scheduler!.check(), b!.scheduler!.check()])).reduce((x, y) => x + y);

    assert.equal(await checkBoth(), 0, 'nothing fires for ticks before the schedule was seen');
    const fired: number[] = [];
    for (let minute = 1; minute <= 5; minute++) {
      now = Date.parse('2026-03-01T12:00:00Z') + minute * 60_000 + 1_000;
      fired.push(await checkBoth());
      fired.push(await checkBoth()); // a second check in the same minute fires nothing
    }
    assert.deepEqual(fired, [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);

    // Both gateways down for 10 minutes: one firing on return, not ten.
    now += 10 * 60_000;
    assert.equal(await checkBoth(), 1);
    now += 60_000;
    assert.equal(await checkBoth(), 1, 'then back to one per tick');

    const events = await a!.store.claim(100, 60_000, 'test');
    assert.equal(events.length, 7);
    assert.ok(events.every((e) => e.functionName === 'tick'));
    const first = JSON.parse(events[0]!.payload);
    assert.equal(first['detail-type'], 'Scheduled Event');
    assert.equal(first.source, 'aws.events');
    assert.equal(first.time, '2026-03-01T12:01:00Z', 'the tick it stands for');

    // The cron schedule with an input fires at 06:00 with that input as the event.
    now = Date.parse('2026-03-02T06:00:10Z');
    await checkBoth();
    const [daily] = (await a!.store.claim(100, 60_000, 'test')).filter(
      (e) => e.functionName === 'report',
    );
    assert.deepEqual(JSON.parse(daily!.payload), { kind: 'daily' });
    const metrics = await gateways[0]!.metrics.registry.getSingleMetricAsString(
      'selfless_schedule_firings_total',
    );
    const second = await gateways[1]!.metrics.registry.getSingleMetricAsString(
      'selfless_schedule_firings_total',
    );
    const total = [metrics, second]
      .flatMap((m) => [...m.matchAll(/function="tick"} (\d+)/g)].map((x) => Number(x[1])))
      .reduce((x, y) => x + y, 0);
    // Seven so far, and the rate schedule caught up once more at 06:00.
    assert.equal(total, 8, 'firings counted once across both gateways');
  });

  test('upcoming lists the next firing times of each schedule trigger', () => {
    const registry = new FunctionRegistry();
    registry.put(
      testFunction(
        'nightly',
        {},
        {
          triggers: [{ schedule: { expression: 'cron(30 2 ? * MON-FRI *)' } }],
        },
      ),
    );
    const [t, ...rest] = scheduleTriggers(registry);
    assert.equal(rest.length, 0);
    assert.deepEqual(
      upcoming(t!, Date.parse('2026-02-27T03:00:00Z'), 2).map((x) => new Date(x).toISOString()),
      ['2026-03-02T02:30:00.000Z', '2026-03-03T02:30:00.000Z'],
    );
  });
});
