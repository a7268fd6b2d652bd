import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delivery, parseDestination } from './destinations.ts';

test('destinations parse as Lambda writes them: function:/queue: names and function/SQS ARNs', () => {
  assert.deepEqual(parseDestination('function:audit'), { kind: 'function', name: 'audit' });
  assert.deepEqual(parseDestination('arn:aws:lambda:us-east-1:000000000000:function:audit'), {
    kind: 'function',
    name: 'audit',
  });
  assert.deepEqual(parseDestination('queue:failures'), { kind: 'queue', name: 'failures' });
  assert.deepEqual(parseDestination('arn:aws:sqs:us-east-1:000000000000:failures'), {
    kind: 'queue',
    name: 'failures',
  });
  assert.equal(parseDestination('sns:topic'), undefined);
});

test("a destination function is found in the namespace of the event's own function", () => {
  const target = parseDestination('function:audit');
  const local = delivery(target, '{}', 'orders');
  assert.equal(local?.kind === 'function' && local.functionName, 'audit');
  const namespaced = delivery(target, '{}', 'team-a/orders');
  assert.equal(namespaced?.kind === 'function' && namespaced.functionName, 'team-a/audit');
  assert.deepEqual(delivery(parseDestination('queue:q'), '{}', 'team-a/orders'), {
    kind: 'queue',
    queue: 'q',
    record: '{}',
  });
});
