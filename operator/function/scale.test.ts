import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DemandWindow, desiredReplicas } from './scale.ts';

test('desired replicas: demand within the floor of provisioned and the ceiling of reservation and cap', () => {
  const base = { current: 0, provisioned: 0, maxReplicas: 100 };
  const table: [Parameters<typeof desiredReplicas>[0], number][] = [
    [{ ...base, recentDemand: 0 }, 0],
    [{ ...base, recentDemand: 7 }, 7],
    [{ ...base, recentDemand: 0, provisioned: 2 }, 2],
    [{ ...base, recentDemand: 1, provisioned: 2 }, 2],
    [{ ...base, recentDemand: 9, reserved: 4 }, 4],
    [{ ...base, recentDemand: 9, reserved: 0 }, 0],
    [{ ...base, recentDemand: 500 }, 100],
    [{ ...base, recentDemand: undefined, current: 5 }, 5],
    [{ ...base, recentDemand: undefined, current: 0, provisioned: 1 }, 1],
  ];
  for (const [input, want] of table)
    assert.equal(desiredReplicas(input), want, JSON.stringify(input));
});

test('desired replicas with several events per worker: ceil(events / maxConcurrency), provisioned and reserved counted in events', () => {
  const base = { current: 0, provisioned: 0, maxReplicas: 100, maxConcurrency: 32 };
  const table: [Parameters<typeof desiredReplicas>[0], number][] = [
    [{ ...base, recentDemand: 0 }, 0],
    [{ ...base, recentDemand: 1 }, 1],
    [{ ...base, recentDemand: 32 }, 1],
    [{ ...base, recentDemand: 33 }, 2],
    [{ ...base, recentDemand: 0, provisioned: 40 }, 2],
    [{ ...base, recentDemand: 500, reserved: 64 }, 2],
    [{ ...base, recentDemand: 100_000 }, 100],
    [{ ...base, recentDemand: undefined, current: 3 }, 3],
  ];
  for (const [input, want] of table)
    assert.equal(desiredReplicas(input), want, JSON.stringify(input));
});

test('the window keeps the peak until it ages out, and reports which keys changed', () => {
  const w = new DemandWindow(10_000);
  assert.deepEqual(w.recent('a', 0), { demand: undefined });
  assert.deepEqual(w.record(new Map([['a', 5]]), 0), ['a']);
  assert.deepEqual(w.record(new Map([['a', 2]]), 4_000), []);
  assert.deepEqual(w.recent('a', 4_000), { demand: 5, expiresInMs: 6_000 });
  assert.deepEqual(w.record(new Map(), 10_001), ['a']);
  assert.equal(w.recent('a', 10_001).demand, 2);
  assert.deepEqual(w.record(new Map(), 14_001), ['a']);
  assert.deepEqual(w.recent('a', 14_001), { demand: 0 });
  w.unknown();
  assert.equal(w.recent('a', 14_002).demand, undefined);
});
