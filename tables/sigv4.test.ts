// SigV4 on the table service, with requests signed by the real AWS SDK: a configured
// key passes, and each way of failing gets DynamoDB's error type.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { rejectsWith, sdkClient, startHarness, type Harness } from '../test/support/tables.ts';

const credentials = { AKIDEXAMPLE: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

describe('SigV4 on the table service', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness('sqlite', { auth: { credentials } });
  });
  after(async () => {
    await h?.close();
  });

  test('a request signed by the AWS SDK with a configured key passes', async () => {
    const c = sdkClient(h.server.url, {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: credentials.AKIDEXAMPLE,
    });
    const out = await c.send(new ListTablesCommand({}));
    assert.deepEqual(out.TableNames, []);
    c.destroy();
  });

  test('a wrong secret is InvalidSignatureException', async () => {
    const c = sdkClient(h.server.url, { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wrong' });
    await rejectsWith(
      c.send(new ListTablesCommand({})),
      'InvalidSignatureException',
      /does not match/,
    );
    c.destroy();
  });

  test('an unknown access key is UnrecognizedClientException', async () => {
    const c = sdkClient(h.server.url, { accessKeyId: 'AKIDOTHER', secretAccessKey: 'x' });
    await rejectsWith(
      c.send(new ListTablesCommand({})),
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    );
    c.destroy();
  });

  test('an unsigned request is MissingAuthenticationTokenException', async () => {
    const res = await fetch(h.server.url, {
      method: 'POST',
      headers: {
        'x-amz-target': 'DynamoDB_20120810.ListTables',
        'content-type': 'application/x-amz-json-1.0',
      },
      body: '{}',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { __type: string };
    assert.equal(
      body.__type,
      'com.amazonaws.dynamodb.v20120810#MissingAuthenticationTokenException',
    );
  });
});
