// EventBridge schedule grammar, one test per rule: each checks the next firing
// times from a fixed instant (all UTC), or the error for what EventBridge refuses.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSchedule, ScheduleExpressionError } from './schedule-expression.ts';

const from = Date.parse('2026-02-26T10:17:30Z'); // a Thursday

function nextN(expression: string, n = 3, start = from): string[] {
  const s = parseSchedule(expression);
  const out: string[] = [];
  let at: number | undefined = start;
  for (let i = 0; i < n && (at = s.next(at)) !== undefined; i++) {
    out.push(new Date(at).toISOString().slice(0, 16));
  }
  return out;
}

const refuses = (expression: string, pattern: RegExp) =>
  assert.throws(
    () => parseSchedule(expression),
    (err: Error) => {
      assert.ok(err instanceof ScheduleExpressionError);
      assert.match(err.message, pattern);
      return true;
    },
  );

describe('rate()', () => {
  test('rate(1 minute) ticks on every whole minute', () => {
    assert.deepEqual(nextN('rate(1 minute)'), [
      '2026-02-26T10:18',
      '2026-02-26T10:19',
      '2026-02-26T10:20',
    ]);
  });
  test('rate(N hours) and rate(N days) tick at multiples of the period since the epoch', () => {
    assert.deepEqual(nextN('rate(5 hours)', 2), ['2026-02-26T15:00', '2026-02-26T20:00']);
    assert.deepEqual(nextN('rate(2 days)', 2), ['2026-02-28T00:00', '2026-03-02T00:00']);
  });
  test('a value of 1 takes the singular unit, above 1 the plural', () => {
    refuses('rate(1 minutes)', /singular/);
    refuses('rate(5 minute)', /plural/);
  });
  test('units other than minutes, hours, days and a zero value are refused', () => {
    refuses('rate(10 seconds)', /unit/);
    refuses('rate(0 minutes)', /positive/);
    refuses('rate(minutes)', /rate\(value unit\)/);
  });
});

describe('cron()', () => {
  test('fixed minute and hour, every day', () => {
    assert.deepEqual(nextN('cron(0 12 * * ? *)'), [
      '2026-02-26T12:00',
      '2026-02-27T12:00',
      '2026-02-28T12:00',
    ]);
  });
  test('lists and ranges with , and -', () => {
    assert.deepEqual(nextN('cron(0,30 9-10 * * ? *)', 3), [
      '2026-02-26T10:30',
      '2026-02-27T09:00',
      '2026-02-27T09:30',
    ]);
  });
  test('steps with / from * and from a start value', () => {
    assert.deepEqual(nextN('cron(*/15 * * * ? *)', 2), ['2026-02-26T10:30', '2026-02-26T10:45']);
    assert.deepEqual(nextN('cron(5/20 10 * * ? *)', 2), ['2026-02-26T10:25', '2026-02-26T10:45']);
  });
  test('month and day names, and day-of-week ranges (MON-FRI)', () => {
    assert.deepEqual(nextN('cron(0 8 ? * MON-FRI *)', 3), [
      '2026-02-27T08:00',
      '2026-03-02T08:00',
      '2026-03-03T08:00',
    ]);
    assert.deepEqual(nextN('cron(0 0 1 JAN,JUL ? *)', 2), ['2026-07-01T00:00', '2027-01-01T00:00']);
  });
  test('day-of-week numbers are 1-7 = SUN-SAT', () => {
    assert.deepEqual(nextN('cron(0 0 ? * 1 *)', 1), ['2026-03-01T00:00']); // a Sunday
  });
  test('the year field bounds the schedule', () => {
    assert.deepEqual(nextN('cron(0 0 1 1 ? 2027-2028)', 5), [
      '2027-01-01T00:00',
      '2028-01-01T00:00',
    ]);
  });
  test('? is required in exactly one of day-of-month and day-of-week', () => {
    refuses('cron(0 12 * * * *)', /exactly one of day-of-month and day-of-week must be \?/);
    refuses('cron(0 12 ? * ? *)', /exactly one/);
    refuses('cron(? 12 1 * ? *)', /minutes does not take/);
  });
  test('L in day-of-month is the last day of the month (leap years included)', () => {
    assert.deepEqual(nextN('cron(0 0 L * ? *)', 3), [
      '2026-02-28T00:00',
      '2026-03-31T00:00',
      '2026-04-30T00:00',
    ]);
    assert.deepEqual(nextN('cron(0 0 L 2 ? 2028)', 1), ['2028-02-29T00:00']);
  });
  test('nW is the weekday nearest day n, without leaving the month', () => {
    // 2026-03-01 is a Sunday: 1W is Monday the 2nd. 2026-03-15 is a Sunday: 15W is Monday the 16th.
    // 2026-08-01 is a Saturday: 1W is Monday the 3rd, not July 31st.
    assert.deepEqual(nextN('cron(0 0 1W * ? *)', 1, Date.parse('2026-02-28T00:00Z')), [
      '2026-03-02T00:00',
    ]);
    assert.deepEqual(nextN('cron(0 0 15W 3 ? *)', 1), ['2026-03-16T00:00']);
    assert.deepEqual(nextN('cron(0 0 1W 8 ? *)', 1), ['2026-08-03T00:00']);
    assert.deepEqual(nextN('cron(0 0 31W 1 ? 2027)', 1), ['2027-01-29T00:00']); // 2027-01-31 is a Sunday
  });
  test('LW is the last weekday of the month', () => {
    assert.deepEqual(nextN('cron(0 18 LW * ? *)', 2), ['2026-02-27T18:00', '2026-03-31T18:00']);
  });
  test('L in day-of-week is Saturday; nL is the last such weekday of the month', () => {
    assert.deepEqual(nextN('cron(0 0 ? * L *)', 1), ['2026-02-28T00:00']);
    assert.deepEqual(nextN('cron(0 0 ? * 6L *)', 2), ['2026-02-27T00:00', '2026-03-27T00:00']);
  });
  test('n#k is the k-th such weekday of the month', () => {
    assert.deepEqual(nextN('cron(0 9 ? * 2#1 *)', 2), ['2026-03-02T09:00', '2026-04-06T09:00']);
    assert.deepEqual(nextN('cron(0 9 ? * MON#3 *)', 1), ['2026-03-16T09:00']);
    refuses('cron(0 9 ? * 2#6 *)', /1-5/);
  });
  test('out-of-range values, wrong field counts and misplaced specials are refused', () => {
    refuses('cron(60 * * * ? *)', /minutes value "60"/);
    refuses('cron(0 24 * * ? *)', /hours value/);
    refuses('cron(0 0 32 * ? *)', /day-of-month value/);
    refuses('cron(0 0 ? * 8 *)', /day-of-week value/);
    refuses('cron(0 0 * * ?)', /six fields/);
    refuses('cron(0 0 L,5 * ? *)', /day-of-month takes L/);
    refuses('cron(0 0 ? * 2W *)', /day-of-week takes/);
    refuses('every(5 minutes)', /rate\(\.\.\.\) or cron/);
  });
});

describe('names', () => {
  test('day and month names containing L or W (WED, JUL) are names, not specials', () => {
    assert.deepEqual(nextN('cron(0 0 ? JUL WED *)', 1), ['2026-07-01T00:00']);
    assert.throws(() => parseSchedule('cron(0 0 ? L * *)'), /month value "L"/);
  });
});
