import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InProcessLimiter, checkReservation } from './limiter.ts';

const quotas = { accountLimit: 10, unreservedFloor: 2 };

test('a function with a reservation is throttled at exactly its reservation', async () => {
  const l = new InProcessLimiter(quotas, () => 3);
  const leases = [];
  for (let i = 0; i < 3; i++) {
    const a = await l.acquire('f', 3);
    assert.ok(a.ok);
    leases.push(a.lease);
  }
  const over = await l.acquire('f', 3);
  assert.deepEqual(over, {
    ok: false,
    reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
  });
  leases[0]!.release();
  leases[0]!.release(); // releasing twice frees one slot, not two
  assert.ok((await l.acquire('f', 3)).ok);
  assert.equal((await l.acquire('f', 3)).ok, false);
});

test('a reservation of 0 always throttles', async () => {
  const l = new InProcessLimiter(quotas, () => 0);
  assert.deepEqual(await l.acquire('f', 0), {
    ok: false,
    reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
  });
});

test('unreserved functions share the account limit minus all reservations', async () => {
  const l = new InProcessLimiter(quotas, () => 6); // 10 - 6 = 4 unreserved
  for (let i = 0; i < 4; i++) assert.ok((await l.acquire(i % 2 ? 'a' : 'b', undefined)).ok);
  assert.deepEqual(await l.acquire('c', undefined), {
    ok: false,
    reason: 'ConcurrentInvocationLimitExceeded',
  });
  // A reserved function does not draw on the exhausted pool.
  assert.ok((await l.acquire('r', 6)).ok);
  assert.equal(l.inFlight(), 5);
  assert.equal(l.inFlight('a'), 2);
});

test("a reservation that would leave less than the unreserved floor is refused with Lambda's message", () => {
  assert.equal(checkReservation(quotas, 5, 3), undefined); // leaves exactly 2
  assert.match(
    checkReservation(quotas, 5, 4) ?? '',
    /decreases account's UnreservedConcurrentExecution below its minimum value of \[2\]/,
  );
});
