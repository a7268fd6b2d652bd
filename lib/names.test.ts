import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accountIdForNamespace,
  callerNamespace,
  functionArn,
  indexArn,
  lambdaArn,
  namespaceForAccount,
  parseFunctionRef,
  roleArn,
  scheduleRuleArn,
  tableArn,
} from './names.ts';

test('namespaces map to distinct, stable 12-digit accounts; default is the local account', () => {
  assert.equal(accountIdForNamespace('default'), '000000000000');
  const ids = ['team-a', 'team-b', 'kube-system', 'a', 'b'].map(accountIdForNamespace);
  for (const id of ids) assert.match(id, /^\d{12}$/);
  assert.equal(new Set([...ids, '000000000000']).size, ids.length + 1);
  assert.equal(accountIdForNamespace('team-a'), ids[0], 'stable');
});

test('an ARN names the namespace through its account; the caller namespace comes from the access key', () => {
  const arn = functionArn('us-east-1', 'team-a', 'get-user');
  assert.equal(
    arn,
    `arn:aws:lambda:us-east-1:${accountIdForNamespace('team-a')}:function:get-user`,
  );
  const namespaces = new Set(['default', 'team-a', 'team-b']);
  assert.equal(namespaceForAccount(accountIdForNamespace('team-b'), namespaces), 'team-b');
  assert.equal(namespaceForAccount('123456789012', namespaces), undefined);
  assert.equal(callerNamespace('team-a', namespaces), 'team-a');
  assert.equal(callerNamespace('AKIAIOSFODNN7EXAMPLE', namespaces), 'default');
  assert.equal(callerNamespace(undefined, namespaces, 'team-b'), 'team-b');
});

test('every ARN has the layout AWS gives it, and a function ARN parses back to what built it', () => {
  assert.equal(
    lambdaArn('eu-west-1', '123456789012', 'f'),
    'arn:aws:lambda:eu-west-1:123456789012:function:f',
  );
  assert.equal(
    lambdaArn('eu-west-1', '123456789012', 'f', '$LATEST'),
    'arn:aws:lambda:eu-west-1:123456789012:function:f:$LATEST',
  );
  assert.equal(
    tableArn('us-east-1', '000000000000', 'users'),
    'arn:aws:dynamodb:us-east-1:000000000000:table/users',
  );
  assert.equal(
    indexArn('us-east-1', '000000000000', 'users', 'by-email'),
    'arn:aws:dynamodb:us-east-1:000000000000:table/users/index/by-email',
  );
  assert.equal(
    scheduleRuleArn('us-east-1', '000000000000', 'r'),
    'arn:aws:events:us-east-1:000000000000:rule/r',
  );
  assert.equal(
    roleArn('000000000000', 'selfless-default'),
    'arn:aws:iam::000000000000:role/selfless-default',
  );
  assert.deepEqual(parseFunctionRef(lambdaArn('eu-west-1', '123456789012', 'f', 'live')), {
    name: 'f',
    accountId: '123456789012',
    qualifier: 'live',
  });
  assert.deepEqual(parseFunctionRef('123456789012:function:f'), {
    name: 'f',
    accountId: '123456789012',
  });
  assert.deepEqual(parseFunctionRef('f:$LATEST'), { name: 'f', qualifier: '$LATEST' });
  assert.equal(parseFunctionRef('arn:aws:s3:::bucket'), undefined);
  assert.equal(parseFunctionRef('has space'), undefined);
});
