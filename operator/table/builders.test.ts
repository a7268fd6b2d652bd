// The UpdateTable steps a Table resource's globalSecondaryIndexes turn into:
// one index change per call, and none while an index is still CREATING or
// DELETING (DynamoDB refuses a second one with LimitExceededException).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TableDescription } from '@aws-sdk/client-dynamodb';
import type { TableSpec } from '../../lib/table.ts';
import { indexInFlight, nextTimeToLive, nextUpdate } from './builders.ts';

const spec = (gsis: string[]): TableSpec => ({
  attributeDefinitions: [
    { attributeName: 'id', attributeType: 'S' },
    ...gsis.map((g) => ({ attributeName: g, attributeType: 'S' as const })),
  ],
  keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
  billingMode: 'PAY_PER_REQUEST',
  deletionProtectionEnabled: true,
  globalSecondaryIndexes: gsis.map((g) => ({
    indexName: `by-${g}`,
    keySchema: [{ attributeName: g, keyType: 'HASH' }],
    projection: { projectionType: 'ALL' },
  })),
});

const table = (gsis: [string, string][]): TableDescription => ({
  TableName: 'users',
  TableStatus: 'ACTIVE',
  KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  BillingModeSummary: { BillingMode: 'PAY_PER_REQUEST' },
  DeletionProtectionEnabled: true,
  GlobalSecondaryIndexes: gsis.map(([name, status]) => ({
    IndexName: name,
    IndexStatus: status as 'ACTIVE',
  })),
});

const cases: {
  name: string;
  want: TableSpec;
  have: TableDescription;
  update: unknown;
  inFlight?: string;
}[] = [
  {
    name: 'a GSI added to the spec is created with its attribute definitions',
    want: spec(['email']),
    have: table([]),
    update: {
      TableName: 'users',
      AttributeDefinitions: [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'email', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexUpdates: [
        {
          Create: {
            IndexName: 'by-email',
            KeySchema: [{ AttributeName: 'email', KeyType: 'HASH' }],
            Projection: { ProjectionType: 'ALL' },
          },
        },
      ],
    },
  },
  {
    name: 'a GSI removed from the spec is deleted',
    want: spec([]),
    have: table([['by-email', 'ACTIVE']]),
    update: {
      TableName: 'users',
      GlobalSecondaryIndexUpdates: [{ Delete: { IndexName: 'by-email' } }],
    },
  },
  {
    name: 'nothing more is sent while an index is CREATING, even with another one missing',
    want: spec(['email', 'name']),
    have: table([['by-email', 'CREATING']]),
    update: undefined,
    inFlight: 'by-email is CREATING',
  },
  {
    name: 'nothing more is sent while an index is DELETING',
    want: spec(['name']),
    have: table([['by-email', 'DELETING']]),
    update: undefined,
    inFlight: 'by-email is DELETING',
  },
  {
    name: 'a streamSpecification enables the stream with its view type',
    want: {
      ...spec([]),
      streamSpecification: { streamEnabled: true, streamViewType: 'NEW_IMAGE' },
    },
    have: table([]),
    update: {
      TableName: 'users',
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' },
    },
  },
  {
    name: 'another view type disables the stream first (DynamoDB changes none in place)',
    want: {
      ...spec([]),
      streamSpecification: { streamEnabled: true, streamViewType: 'NEW_IMAGE' },
    },
    have: {
      ...table([]),
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
    },
    update: { TableName: 'users', StreamSpecification: { StreamEnabled: false } },
  },
  {
    name: 'a stream the spec no longer enables is disabled; a disabled one needs nothing',
    want: { ...spec([]), streamSpecification: { streamEnabled: false } },
    have: {
      ...table([]),
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'KEYS_ONLY' },
    },
    update: { TableName: 'users', StreamSpecification: { StreamEnabled: false } },
  },
  {
    name: 'a table whose indexes are all ACTIVE and match needs nothing',
    want: spec(['email']),
    have: table([['by-email', 'ACTIVE']]),
    update: undefined,
  },
];

for (const c of cases) {
  test(c.name, () => {
    assert.deepEqual(nextUpdate(c.have, c.want, 'users'), c.update);
    assert.equal(indexInFlight(c.have), c.inFlight);
  });
}

test('timeToLiveSpecification: enabled, disabled, and another attribute disabled before it is enabled', () => {
  const ttl = (attributeName: string, enabled: boolean): TableSpec => ({
    ...spec([]),
    timeToLiveSpecification: { attributeName, enabled },
  });
  assert.deepEqual(nextTimeToLive({ TimeToLiveStatus: 'DISABLED' }, ttl('exp', true), 'users'), {
    TableName: 'users',
    TimeToLiveSpecification: { AttributeName: 'exp', Enabled: true },
  });
  const on = { TimeToLiveStatus: 'ENABLED' as const, AttributeName: 'exp' };
  assert.equal(nextTimeToLive(on, ttl('exp', true), 'users'), undefined);
  assert.deepEqual(nextTimeToLive(on, ttl('exp', false), 'users'), {
    TableName: 'users',
    TimeToLiveSpecification: { AttributeName: 'exp', Enabled: false },
  });
  assert.deepEqual(nextTimeToLive(on, ttl('other', true), 'users'), {
    TableName: 'users',
    TimeToLiveSpecification: { AttributeName: 'exp', Enabled: false },
  });
  assert.equal(nextTimeToLive({ TimeToLiveStatus: 'DISABLED' }, spec([]), 'users'), undefined);
});
