// Target tracking on a simulated load step up and down, minute by minute on an
// injected clock: the capacity follows the load to the target utilization with
// Application Auto Scaling's alarm windows and cooldowns, and stays within bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decide, type ScalingHistory, type ScalingPolicy } from './autoscaling.ts';

const policy: ScalingPolicy = {
  minCapacity: 5,
  maxCapacity: 400,
  targetUtilization: 70,
  scaleOutCooldown: 60,
  scaleInCooldown: 300,
};

/** Runs `load` (units per second per minute) and answers the capacity after each minute. */
function simulate(load: number[], start = 5) {
  let capacity = start;
  const history: ScalingHistory = {};
  const perSecond: number[] = [];
  const trace: { minute: number; capacity: number; served: number }[] = [];
  load.forEach((demand, minute) => {
    const now = (minute + 1) * 60_000;
    // The table serves at most its capacity (the rest is throttled).
    const served = Math.min(demand, capacity);
    perSecond.push(served);
    const d = decide(policy, capacity, perSecond.slice(-15), history, now);
    if (d) {
      capacity = d.capacity;
      if (d.direction === 'out') history.lastScaleOut = now;
      else history.lastScaleIn = now;
    }
    trace.push({ minute, capacity, served });
  });
  return trace;
}

test('a load step up scales out after 2 minutes above target, step by step up to the load', () => {
  const trace = simulate([...Array(3).fill(2), ...Array(30).fill(100)]);
  // Minutes 0-2: 2 units/s on 5 is 40%: nothing.
  assert.equal(trace[2]!.capacity, 5);
  // Minute 3 is the first above target; minute 4 the second: scale-out to 5/0.7 = 8.
  assert.equal(trace[3]!.capacity, 5);
  assert.equal(trace[4]!.capacity, 8);
  // Throttled at the capacity, the consumed units understate the load: every 2 minutes
  // a step grows it by 1/0.7 until the load fits.
  const settled = trace.at(-1)!.capacity;
  assert.ok(settled >= Math.ceil(100 / 0.7), `reached the load at 70%: ${settled}`);
  assert.ok(settled <= policy.maxCapacity);
  const caps = trace.map((t) => t.capacity);
  assert.deepEqual(
    [...caps].sort((a, b) => a - b),
    caps,
    'never shrinks on the way up',
  );
});

test('a load step down scales in only after 15 minutes below target - 20 points, with its cooldown', () => {
  const trace = simulate([...Array(5).fill(140), ...Array(40).fill(10)], 200);
  // 140 on 200 is 70%: no change while the load is high.
  assert.equal(trace[4]!.capacity, 200);
  // 10 on 200 is 5%: the low alarm needs 15 whole minutes of it (minutes 5-19).
  assert.equal(trace[18]!.capacity, 200);
  assert.equal(trace[19]!.capacity, Math.ceil(10 / 0.7));
  assert.equal(trace.at(-1)!.capacity, 15);
});

test('bounds: below min is raised, above max lowered, at once; never past them', () => {
  assert.deepEqual(decide(policy, 2, [], {}, 0)?.capacity, 5);
  assert.deepEqual(decide(policy, 500, [], {}, 0)?.capacity, 400);
  assert.equal(decide(policy, 390, [1000, 1000], {}, 0)?.capacity, 400);
  assert.equal(decide(policy, 6, Array(15).fill(0), {}, 0)?.capacity, 5);
});

test('cooldowns: a scale-out waits for the last scale-out, a scale-in for the last scaling', () => {
  const hot = [100, 100];
  assert.equal(decide(policy, 10, hot, { lastScaleOut: 0 }, 59_000), undefined);
  assert.equal(decide(policy, 10, hot, { lastScaleOut: 0 }, 60_000)?.capacity, 143);
  assert.equal(decide(policy, 10, hot, { lastScaleIn: 0 }, 1_000)?.capacity, 143);
  const cold = Array(15).fill(1);
  assert.equal(decide(policy, 100, cold, { lastScaleOut: 0 }, 299_000), undefined);
  assert.equal(decide(policy, 100, cold, { lastScaleOut: 0 }, 300_000)?.capacity, 5);
});
