// The CQL transaction protocol across service instances on one keyspace, through
// the AWS SDK. A coordinator is "killed" the way a crashed process leaves a
// transaction: a fault hook stops it for good at one step of the protocol (record
// written, locks held, committed, half applied), then its server and its driver
// session are shut down. The other instance must meet what it left and finish it:
// roll it back before the commit, forward after, and the bank total must never
// move, whoever reads it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateTableCommand,
  GetItemCommand,
  PutItemCommand,
  TransactGetItemsCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import cassandra from 'cassandra-driver';
import { makeLogger } from '../../../lib/log.ts';
import { cqlConfig, dropKeyspace, rejectsWith, sdkClient } from '../../../test/support/tables.ts';
import { startTablesServer, type TablesServer } from '../../server.ts';
import type { StorageEngine } from '../engine.ts';
import { openCqlEngine } from './engine.ts';
import type { CoordinatorStep } from './transactions.ts';

const leaseMs = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops the next coordinators that reach the armed steps, forever. */
class Crashes {
  private armed: { point: CoordinatorStep; hit: (txId: string) => void }[] = [];
  arm(point: CoordinatorStep): Promise<string> {
    return new Promise((hit) => this.armed.push({ point, hit }));
  }
  step = (point: CoordinatorStep, txId: string): void | Promise<void> => {
    const i = this.armed.findIndex((a) => a.point === point);
    if (i < 0) return;
    const [a] = this.armed.splice(i, 1);
    a!.hit(txId);
    return new Promise<void>(() => {});
  };
}

interface Instance {
  engine: StorageEngine;
  server: TablesServer;
  client: DynamoDBClient;
  kill(): Promise<void>;
}

async function instance(
  config: Awaited<ReturnType<typeof cqlConfig>>,
  crashes?: Crashes,
): Promise<Instance> {
  const engine = await openCqlEngine({
    ...config,
    transactions: {
      leaseMs,
      lockWaitMs: 200,
      sweepMs: 500,
      ...(crashes && { hooks: { step: crashes.step } }),
    },
  });
  const server = await startTablesServer({ engine, log: makeLogger('tables', { level: 'error' }) });
  const client = sdkClient(server.url);
  let dead = false;
  return {
    engine,
    server,
    client,
    async kill() {
      if (dead) return;
      dead = true;
      client.destroy();
      await server.close();
      await engine.close();
    },
  };
}

const N = (n: number) => ({ N: String(n) });
const key = (id: string) => ({ id: { S: id } });
const transfer = (from: string, to: string, amount: number) =>
  new TransactWriteItemsCommand({
    TransactItems: [
      {
        Update: {
          TableName: 'bank',
          Key: key(from),
          UpdateExpression: 'SET bal = bal - :a',
          ConditionExpression: 'bal >= :a',
          ExpressionAttributeValues: { ':a': N(amount) },
        },
      },
      {
        Update: {
          TableName: 'bank',
          Key: key(to),
          UpdateExpression: 'SET bal = bal + :a',
          ExpressionAttributeValues: { ':a': N(amount) },
        },
      },
    ],
  });
const balances = async (client: DynamoDBClient, ids: string[]) => {
  const r = await client.send(
    new TransactGetItemsCommand({
      TransactItems: ids.map((id) => ({ Get: { TableName: 'bank', Key: key(id) } })),
    }),
  );
  return r.Responses!.map((x) => Number(x.Item!.bal!.N));
};
const balance = async (client: DynamoDBClient, id: string) =>
  Number((await client.send(new GetItemCommand({ TableName: 'bank', Key: key(id) }))).Item!.bal!.N);

describe('CQL transactions across service instances', () => {
  let config: Awaited<ReturnType<typeof cqlConfig>>;
  let raw: cassandra.Client;
  let survivor: Instance;
  let tableId: string;

  /** Locks still held and transaction records still kept, straight from CQL. */
  const leftovers = async () => {
    const locks = (await raw.execute(`SELECT tx FROM items_${tableId}`)).rows.filter(
      (r) => r.tx != null,
    ).length;
    const records = (await raw.execute('SELECT id FROM selfless_transactions')).rows.length;
    return { locks, records };
  };
  const eventually = async (what: () => Promise<boolean>, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!(await what())) {
      if (Date.now() > deadline) assert.fail('condition not reached in time');
      await sleep(100);
    }
  };
  const seed = async (accounts: Record<string, number>) => {
    for (const [id, bal] of Object.entries(accounts)) {
      await survivor.client.send(
        new PutItemCommand({ TableName: 'bank', Item: { ...key(id), bal: N(bal) } }),
      );
    }
  };

  before(async () => {
    config = await cqlConfig();
    survivor = await instance(config);
    await survivor.client.send(
      new CreateTableCommand({
        TableName: 'bank',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    tableId = (await survivor.engine.getTable('bank'))!.id;
    raw = new cassandra.Client({
      contactPoints: config.contactPoints,
      localDataCenter: config.localDataCenter,
      keyspace: config.keyspace,
    });
    // The first transaction of a table turns its plain writes into LWT, once.
    await seed({ warm: 0 });
    await survivor.client.send(transfer('warm', 'warm2', 0)).catch(() => undefined);
  });
  after(async () => {
    await raw?.shutdown();
    await survivor?.kill();
    if (config) await dropKeyspace(config);
  });

  test('a coordinator that dies holding its locks is rolled back', async () => {
    await seed({ a1: 100, a2: 100 });
    const crashes = new Crashes();
    const doomed = await instance(config, crashes);
    try {
      const stopped = crashes.arm('locked');
      void doomed.client.send(transfer('a1', 'a2', 30)).catch(() => undefined);
      await stopped;
      await doomed.kill();
      // Its locks are live for a lease: a plain write is refused as DynamoDB
      // refuses one racing a transaction, and readers see the committed values.
      await rejectsWith(
        survivor.client.send(
          new UpdateItemCommand({
            TableName: 'bank',
            Key: key('a1'),
            UpdateExpression: 'SET note = :n',
            ExpressionAttributeValues: { ':n': { S: 'x' } },
          }),
        ),
        'TransactionConflictException',
        'Transaction is ongoing for the item',
      );
      assert.deepEqual(await balances(survivor.client, ['a1', 'a2']), [100, 100]);
      // Past the lease the survivor aborts it and its own transfer goes through.
      await eventually(async () => {
        try {
          await survivor.client.send(transfer('a1', 'a2', 5));
          return true;
        } catch (err) {
          assert.equal((err as Error).name, 'TransactionCanceledException');
          return false;
        }
      });
      assert.deepEqual(await balances(survivor.client, ['a1', 'a2']), [95, 105]);
      await eventually(async () => (await leftovers()).records === 0);
      assert.deepEqual(await leftovers(), { locks: 0, records: 0 });
    } finally {
      await doomed.kill();
    }
  });

  test('a coordinator that dies after its commit is rolled forward', async () => {
    await seed({ b1: 100, b2: 100 });
    const crashes = new Crashes();
    const doomed = await instance(config, crashes);
    try {
      const stopped = crashes.arm('committed');
      void doomed.client.send(transfer('b1', 'b2', 30)).catch(() => undefined);
      await stopped;
      await doomed.kill();
      // Committed is certain: GetItem answers the writes before anyone applies them.
      assert.equal(await balance(survivor.client, 'b1'), 70);
      assert.equal(await balance(survivor.client, 'b2'), 130);
      // A plain write finishes the transaction first, then applies on top of it.
      await survivor.client.send(
        new UpdateItemCommand({
          TableName: 'bank',
          Key: key('b1'),
          UpdateExpression: 'SET bal = bal + :one',
          ExpressionAttributeValues: { ':one': N(1) },
        }),
      );
      assert.deepEqual(await balances(survivor.client, ['b1', 'b2']), [71, 130]);
      await eventually(async () => (await leftovers()).records === 0);
      assert.deepEqual(await leftovers(), { locks: 0, records: 0 });
    } finally {
      await doomed.kill();
    }
  });

  test('a coordinator that dies half way through applying is completed', async () => {
    await seed({ c1: 100, c2: 100 });
    const crashes = new Crashes();
    const doomed = await instance(config, crashes);
    try {
      const stopped = crashes.arm('applying');
      void doomed.client.send(transfer('c1', 'c2', 30)).catch(() => undefined);
      await stopped;
      await doomed.kill();
      // One item is written and unlocked, the other still locked: a snapshot
      // read finishes the transaction and never shows half of it.
      const half = (await leftovers()).locks;
      assert.equal(half, 1);
      assert.deepEqual(await balances(survivor.client, ['c1', 'c2']), [70, 130]);
      await eventually(async () => (await leftovers()).records === 0);
      assert.deepEqual(await leftovers(), { locks: 0, records: 0 });
    } finally {
      await doomed.kill();
    }
  });

  test('concurrent transfers through two instances keep the total while one is killed', async (t) => {
    const ids = Array.from({ length: 8 }, (_, i) => `acct-${i}`);
    const start = 1000;
    await seed(Object.fromEntries(ids.map((id) => [id, start])));
    const total = ids.length * start;
    const crashes = new Crashes();
    const doomed = await instance(config, crashes);
    const stats = { ok: 0, cancelled: 0, okDoomed: 0, snapshots: 0 };
    let running = true;
    let doomedAlive = true;
    const rand = (n: number) => Math.floor(Math.random() * n);
    const worker = async (inst: Instance, isDoomed: boolean) => {
      while (running && (!isDoomed || doomedAlive)) {
        const from = ids[rand(ids.length)]!;
        let to = ids[rand(ids.length)]!;
        if (to === from) to = ids[(ids.indexOf(from) + 1) % ids.length]!;
        try {
          await inst.client.send(transfer(from, to, 1 + rand(50)));
          stats.ok++;
          if (isDoomed) stats.okDoomed++;
        } catch (err) {
          const name = (err as Error).name;
          if (name === 'TransactionCanceledException' || name === 'TransactionConflictException') {
            stats.cancelled++;
          } else if (!isDoomed || doomedAlive) {
            throw err;
          }
        }
      }
    };
    // Every snapshot read of all accounts, mid-run, adds up to the total.
    const auditor = async () => {
      while (running) {
        try {
          const sum = (await balances(survivor.client, ids)).reduce((a, b) => a + b, 0);
          assert.equal(sum, total, 'a TransactGetItems snapshot saw money appear or vanish');
          stats.snapshots++;
        } catch (err) {
          if ((err as Error).name !== 'TransactionCanceledException') throw err;
        }
      }
    };
    const work = [
      ...Array.from({ length: 3 }, () => worker(survivor, false)),
      ...Array.from({ length: 3 }, () => worker(doomed, true)),
      auditor(),
    ];
    try {
      await eventually(async () => stats.okDoomed >= 10, 60_000);
      // Kill the doomed instance with transactions stopped at three different
      // steps of the protocol.
      const stopped = Promise.all([
        crashes.arm('locked'),
        crashes.arm('committed'),
        crashes.arm('applying'),
      ]);
      await Promise.race([stopped, sleep(20_000)]);
      doomedAlive = false;
      await doomed.kill();
      const okAtKill = stats.ok;
      // The survivor goes on past the lease, meeting what the dead one left.
      await sleep(leaseMs * 2);
      await eventually(async () => stats.ok >= okAtKill + 10, 60_000);
      running = false;
      await Promise.all(work);
    } finally {
      running = false;
      doomedAlive = false;
      await doomed.kill();
    }
    await eventually(async () => {
      const l = await leftovers();
      return l.locks === 0 && l.records === 0;
    });
    let sum = 0;
    for (const id of ids) sum += await balance(survivor.client, id);
    assert.equal(sum, total);
    t.diagnostic(JSON.stringify(stats));
    assert.ok(stats.snapshots > 0 && stats.okDoomed >= 10, JSON.stringify(stats));
  });
});
