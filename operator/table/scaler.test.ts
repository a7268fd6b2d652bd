// The scaler against a real table service (sqlite) on an injected clock shared by
// both: a load step up through the service scales the table's write capacity out
// after two minutes above the target, the step down scales it in after fifteen
// below, each change an UpdateTable and an Event, read back through DescribeTable.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DescribeTableCommand,
} from '@aws-sdk/client-dynamodb';
import type { TableSpec } from '../../lib/table.ts';
import { startHarness } from '../../test/support/tables.ts';
import { httpCapacityReader, makeScaler } from './scaler.ts';

const minute = 60_000;
const t0 = Date.UTC(2026, 0, 1, 10);
let now = t0;
const h = await startHarness('sqlite', { clock: () => now });
const { server, client: dynamodb } = h;
after(() => h.close());

let n = 0;
/** `units` one-unit writes at the current clock. */
async function load(units: number) {
  for (let i = 0; i < units; i += 25) {
    const batch = Array.from({ length: Math.min(25, units - i) }, () => ({
      PutRequest: { Item: { pk: { S: `k${n++}` } } },
    }));
    await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { scaled: batch } }));
  }
}

test('a load step up scales out, the step down scales in, as Events', async () => {
  await dynamodb.send(
    new CreateTableCommand({
      TableName: 'scaled',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
    }),
  );
  const spec: TableSpec = {
    attributeDefinitions: [{ attributeName: 'pk', attributeType: 'S' }],
    keySchema: [{ attributeName: 'pk', keyType: 'HASH' }],
    billingMode: 'PROVISIONED',
    provisionedThroughput: { readCapacityUnits: 5, writeCapacityUnits: 5 },
    autoScaling: { write: { minCapacity: 5, maxCapacity: 100, targetUtilization: 50 } },
  };
  const events: string[] = [];
  const scale = makeScaler({ dynamodb, capacity: httpCapacityReader(server.url), now: () => now });
  const pass = async () => {
    const desc = (await dynamodb.send(new DescribeTableCommand({ TableName: 'scaled' }))).Table!;
    await scale('scaled', desc, spec, (type, reason, message) =>
      events.push(`${type} ${reason} ${message}`),
    );
    return (await dynamodb.send(new DescribeTableCommand({ TableName: 'scaled' }))).Table!
      .ProvisionedThroughput!.WriteCapacityUnits;
  };
  // Minute 0 and 1: 10 units a second (600 a minute, paid from the burst credit).
  for (const m of [0, 1]) {
    now = t0 + m * minute + 1000;
    await load(600);
    now = t0 + (m + 1) * minute + 1000;
    const wcu = await pass();
    assert.equal(wcu, m === 0 ? 5 : 20, `after minute ${m}`);
  }
  assert.equal(events.length, 1);
  assert.match(events[0]!, /^Normal ScaledOut write 5 -> 20: utilization above 50% for 2 minutes/);
  // Then nothing: 15 whole minutes below 30% before a scale-in, back to the minimum.
  for (let m = 2; m < 18; m++) {
    now = t0 + (m + 1) * minute + 1000;
    const wcu = await pass();
    assert.equal(wcu, m < 16 ? 20 : 5, `after minute ${m}`);
  }
  assert.equal(events.length, 2);
  assert.match(events[1]!, /^Normal ScaledIn write 20 -> 5: utilization below 30% for 15 minutes/);
});
