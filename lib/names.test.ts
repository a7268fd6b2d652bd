import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accountIdForNamespace,
  callerNamespace,
  functionArn,
  namespaceForAccount,
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
