// /metrics reflects what the service did: requests by action and outcome, capacity
// consumed and conditional-check failures.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { startHarness } from '../test/support/tables.ts';

test('metrics count requests by outcome, capacity and failed conditions', async () => {
  const h = await startHarness('sqlite');
  try {
    await h.client.send(
      new CreateTableCommand({
        TableName: 'metered',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const put = () =>
      h.client.send(
        new PutItemCommand({
          TableName: 'metered',
          Item: { id: { S: 'a' }, blob: { S: 'x'.repeat(1500) } },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
    await put();
    await put().catch(() => undefined);
    const text = await (await fetch(`${h.server.url}/metrics`)).text();
    assert.match(text, /selfless_tables_requests_total\{action="PutItem",outcome="ok"\} 1\n/);
    assert.match(
      text,
      /selfless_tables_requests_total\{action="PutItem",outcome="ConditionalCheckFailedException"\} 1\n/,
    );
    assert.match(text, /selfless_tables_conditional_check_failures_total\{table="metered"\} 1\n/);
    assert.match(
      text,
      /selfless_tables_consumed_capacity_units_total\{table="metered",kind="write"\} 2\n/,
    );
    assert.match(text, /selfless_tables_request_duration_seconds_count\{action="PutItem"\} 2\n/);
  } finally {
    await h.close();
  }
});
