// TableClass, OnDemandThroughput and WarmThroughput through the real AWS SDK on
// sqlite and on a real Cassandra: TableClassSummary as DynamoDB reports it, and on
// cql the class's storage settings read back from the database's own schema tables.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import cassandra from 'cassandra-driver';
import { engineKinds, rejectsWith, startHarness, type Harness } from '../../test/support/tables.ts';
import { testServices } from '../../test/services/index.ts';

const base = {
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' as const },
    { AttributeName: 'g', AttributeType: 'S' as const },
  ],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
  GlobalSecondaryIndexes: [
    {
      IndexName: 'by-g',
      KeySchema: [{ AttributeName: 'g', KeyType: 'HASH' as const }],
      Projection: { ProjectionType: 'KEYS_ONLY' as const },
      ProvisionedThroughput: { ReadCapacityUnits: 2, WriteCapacityUnits: 3 },
    },
  ],
  ProvisionedThroughput: { ReadCapacityUnits: 20000, WriteCapacityUnits: 5 },
};

for (const kind of engineKinds) {
  describe(`table settings (${kind})`, () => {
    let h: Harness;
    before(async () => {
      h = await startHarness(kind);
    });
    after(() => h.close());

    test('TableClass is TableClassSummary, changed by UpdateTable with its time', async () => {
      const c = await h.client.send(
        new CreateTableCommand({
          ...base,
          TableName: 'cold',
          TableClass: 'STANDARD_INFREQUENT_ACCESS',
        }),
      );
      assert.deepEqual(c.TableDescription?.TableClassSummary, {
        TableClass: 'STANDARD_INFREQUENT_ACCESS',
      });
      const u = await h.client.send(
        new UpdateTableCommand({ TableName: 'cold', TableClass: 'STANDARD' }),
      );
      assert.equal(u.TableDescription?.TableClassSummary?.TableClass, 'STANDARD');
      assert.ok(u.TableDescription?.TableClassSummary?.LastUpdateDateTime instanceof Date);
      await rejectsWith(
        h.client.send(
          new CreateTableCommand({ ...base, TableName: 'bad', TableClass: 'COLD' as 'STANDARD' }),
        ),
        'ValidationException',
        "1 validation error detected: Value 'COLD' at 'tableClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, STANDARD_INFREQUENT_ACCESS]",
      );
    });

    test('WarmThroughput is reported for the table and its GSIs', async () => {
      const d = (await h.client.send(new DescribeTableCommand({ TableName: 'cold' }))).Table!;
      assert.deepEqual(d.WarmThroughput, {
        ReadUnitsPerSecond: 20000,
        WriteUnitsPerSecond: 4000,
        Status: 'ACTIVE',
      });
      assert.deepEqual(d.GlobalSecondaryIndexes?.[0]?.WarmThroughput, {
        ReadUnitsPerSecond: 12000,
        WriteUnitsPerSecond: 4000,
        Status: 'ACTIVE',
      });
    });

    test('OnDemandThroughput belongs to PAY_PER_REQUEST tables', async () => {
      await rejectsWith(
        h.client.send(
          new CreateTableCommand({
            ...base,
            TableName: 'mixed',
            OnDemandThroughput: { MaxReadRequestUnits: 5 },
          }),
        ),
        'ValidationException',
        'One or more parameter values were invalid: OnDemandThroughput can only be specified when BillingMode is PAY_PER_REQUEST',
      );
      const { GlobalSecondaryIndexes: gsis, ProvisionedThroughput: _, ...rest } = base;
      const c = await h.client.send(
        new CreateTableCommand({
          ...rest,
          TableName: 'ondemand',
          BillingMode: 'PAY_PER_REQUEST',
          GlobalSecondaryIndexes: gsis.map(({ ProvisionedThroughput: __, ...g }) => ({
            ...g,
            OnDemandThroughput: { MaxWriteRequestUnits: 7 },
          })),
        }),
      );
      assert.deepEqual(c.TableDescription?.OnDemandThroughput, {
        MaxReadRequestUnits: -1,
        MaxWriteRequestUnits: -1,
      });
      assert.deepEqual(c.TableDescription?.GlobalSecondaryIndexes?.[0]?.OnDemandThroughput, {
        MaxReadRequestUnits: -1,
        MaxWriteRequestUnits: 7,
      });
    });

    if (kind === 'cql') {
      test('on cql the class sets compaction and compression of the items and index tables', async () => {
        const s = await testServices();
        const cql = new cassandra.Client({
          contactPoints: s.cqlContactPoints,
          localDataCenter: s.cqlLocalDataCenter,
        });
        try {
          const meta = (await h.engine.getTable('cold'))!;
          const settings = async (id: string) => {
            const rows = await cql.execute(
              'SELECT compaction, compression FROM system_schema.tables WHERE table_name = ? ALLOW FILTERING',
              [`items_${id}`],
            );
            // Table ids are random UUIDs: one keyspace holds this name.
            const row = rows.first();
            return {
              compaction: (row.compaction as Record<string, string>).class,
              compression: (row.compression as Record<string, string>).class,
              chunk: (row.compression as Record<string, string>).chunk_length_in_kb,
            };
          };
          const ids = [meta.id, meta.indexes![0]!.id];
          for (const id of ids) {
            assert.deepEqual(await settings(id), {
              compaction: 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy',
              compression: 'org.apache.cassandra.io.compress.LZ4Compressor',
              chunk: '16',
            });
          }
          await h.client.send(
            new UpdateTableCommand({ TableName: 'cold', TableClass: 'STANDARD_INFREQUENT_ACCESS' }),
          );
          for (const id of ids) {
            assert.deepEqual(await settings(id), {
              compaction: 'org.apache.cassandra.db.compaction.LeveledCompactionStrategy',
              compression: 'org.apache.cassandra.io.compress.ZstdCompressor',
              chunk: '64',
            });
          }
        } finally {
          await cql.shutdown();
        }
      });
    }
  });
}
