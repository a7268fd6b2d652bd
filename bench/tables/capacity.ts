// How exact one cluster-wide budget is: a PROVISIONED table of 5 WCU written as fast
// as possible through two table-service replicas whose buckets share one Redis (a
// real redis-server from the test services), on the real clock. Prints what was
// served against what the budget allows (the 300 s burst, 1,500 units, plus 5 a
// second) and the units per second sustained once the burst is spent.
//   node --import tsx bench/tables/capacity.ts [seconds]
import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { Redis } from 'ioredis';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../../test/services/index.ts';
import { sdkClient } from '../../test/support/tables.ts';
import { openEngine } from '../../tables/engine.ts';
import { startTablesServer } from '../../tables/server.ts';
import { RedisBucketStore } from '../../tables/capacity/store-redis.ts';

const seconds = Number(process.argv[2] ?? 20);
const wcu = 5;
const { redisUrl } = await testServices();
const engine = await openEngine({ engine: 'sqlite' });
const log = makeLogger('tables', { level: 'error' });
const stores = [
  new RedisBucketStore(new Redis(redisUrl)),
  new RedisBucketStore(new Redis(redisUrl)),
];
const servers = await Promise.all(
  stores.map((capacityStore) => startTablesServer({ engine, capacityStore, log })),
);
const clients = servers.map((s) => sdkClient(s.url));
const name = `capacity-${Date.now()}`;
await clients[0]!.send(
  new CreateTableCommand({
    TableName: name,
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: wcu },
  }),
);
const pad = 'p'.repeat(5 * 1024 - 20);
const unitsPerItem = 5;
const t0 = Date.now();
const servedAt: number[] = [];
let throttled = 0;
let n = 0;
async function writer(c: (typeof clients)[number]) {
  while (Date.now() - t0 < seconds * 1000) {
    try {
      await c.send(
        new PutItemCommand({ TableName: name, Item: { pk: { S: `k${n++}` }, pad: { S: pad } } }),
      );
      servedAt.push(Date.now() - t0);
    } catch (err) {
      if ((err as Error).name !== 'ProvisionedThroughputExceededException') throw err;
      throttled++;
    }
  }
}
// 5 KB items cost 5 WCU: the burst is 300 of them, then one a second. Four writers
// per replica, each one request at a time.
await Promise.all(clients.flatMap((c) => [writer(c), writer(c), writer(c), writer(c)]));
const elapsed = (Date.now() - t0) / 1000;
const burstEnd = servedAt[(wcu * 300) / unitsPerItem - 1] ?? elapsed * 1000;
const after = servedAt.filter((t) => t > burstEnd);
const sustained = (after.length * unitsPerItem) / ((elapsed * 1000 - burstEnd) / 1000);
const allowed = wcu * 300 + wcu * elapsed;
console.log(
  JSON.stringify({
    seconds: Number(elapsed.toFixed(1)),
    servedUnits: servedAt.length * unitsPerItem,
    allowedUnits: Number(allowed.toFixed(1)),
    servedOverAllowed: Number(((servedAt.length * unitsPerItem) / allowed).toFixed(4)),
    throttled,
    burstSpentAtSeconds: Number((burstEnd / 1000).toFixed(2)),
    sustainedUnitsPerSecondAfterBurst: Number(sustained.toFixed(2)),
  }),
);
for (const c of clients) c.destroy();
for (const s of servers) await s.close();
for (const s of stores) await s.close();
await engine.close();
process.exit(0);
