// One benchmark target in its own process, so the load generator never shares its
// event loop: `serve.ts selfless-sqlite | selfless-cql | dynalite | floor`. The
// floor is node:http doing the least any JSON API must (read, parse, answer a
// fixed item): no server on this runtime can beat it. `cql-floor` is the same
// with the one prepared CQL statement of the raw driver's run per request (GetItem
// and PutItem on BENCH_KEYSPACE.raw_items, Query on raw_events; no validation), the
// least an HTTP front over CQL costs on this machine. Prints
// `listening <port>` when ready. The cql target reads CQL_CONTACT_POINTS,
// CQL_LOCAL_DATACENTER and BENCH_KEYSPACE.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import cassandra from 'cassandra-driver';
import dynalite from 'dynalite';
import { makeLogger } from '../../lib/log.ts';
import { openEngine } from '../../tables/engine.ts';
import { startTablesServer } from '../../tables/server.ts';
import { keyBytes } from '../../tables/values.ts';
import { coalesceDriverWrites } from '../../tables/storage/cql/coalesce.ts';

const target = process.argv[2];
let port: number;
if (target === 'floor') {
  const item = Buffer.from(
    JSON.stringify({ Item: { id: { S: 'k1' }, n: { N: '1' }, payload: { S: 'x'.repeat(200) } } }),
  );
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, {
        'Content-Type': 'application/x-amz-json-1.0',
        'Content-Length': item.length,
      });
      res.end(item);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
} else if (target === 'cql-floor') {
  // As the table service's engine does (tables/storage/cql/coalesce.ts): a floor
  // must not pay a cost the service has removed.
  coalesceDriverWrites();
  const client = new cassandra.Client({
    contactPoints: (process.env.CQL_CONTACT_POINTS ?? '').split(','),
    localDataCenter: process.env.CQL_LOCAL_DATACENTER ?? 'datacenter1',
  });
  await client.connect();
  const ks = process.env.BENCH_KEYSPACE;
  const empty = Buffer.alloc(0);
  type Body = {
    Key: { id: { S: string } };
    Item: { id: { S: string } };
    ExpressionAttributeValues: { ':p': { S: string }; ':s': { N: string } };
  };
  // The statements of bench/tables/run.ts measureRawCql, answered as DynamoDB would.
  const ops: Record<string, (b: Body) => Promise<string>> = {
    GetItem: (b) =>
      client
        .execute(
          `SELECT item FROM ${ks}.raw_items WHERE pk = ? AND sk = ?`,
          [keyBytes('S', b.Key.id), empty],
          { prepare: true },
        )
        .then((rs) => `{"Item":${rs.first()?.item as string}}`),
    PutItem: (b) =>
      client
        .execute(
          `INSERT INTO ${ks}.raw_items (pk, sk, item, v) VALUES (?, ?, ?, now())`,
          [keyBytes('S', b.Item.id), empty, JSON.stringify(b.Item)],
          { prepare: true },
        )
        .then(() => '{}'),
    Query: (b) =>
      client
        .execute(
          `SELECT item FROM ${ks}.raw_events WHERE pk = ? AND sk >= ? ORDER BY sk ASC LIMIT 10`,
          [
            keyBytes('S', b.ExpressionAttributeValues[':p']),
            keyBytes('N', b.ExpressionAttributeValues[':s']),
          ],
          { prepare: true, fetchSize: 11 },
        )
        .then((rs) => {
          const items = rs.rows.map((r) => r.item as string);
          return `{"Items":[${items.join(',')}],"Count":${items.length},"ScannedCount":${items.length}}`;
        }),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
      const op = String(req.headers['x-amz-target']).split('.')[1] ?? '';
      ops[op]!(body).then(
        (json) => {
          const out = Buffer.from(json);
          res.writeHead(200, {
            'Content-Type': 'application/x-amz-json-1.0',
            'Content-Length': out.length,
          });
          res.end(out);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
} else if (target === 'dynalite') {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
} else {
  const engine = await openEngine(
    target === 'selfless-cql'
      ? {
          engine: 'cql',
          contactPoints: (process.env.CQL_CONTACT_POINTS ?? '').split(','),
          localDataCenter: process.env.CQL_LOCAL_DATACENTER ?? 'datacenter1',
          keyspace: process.env.BENCH_KEYSPACE ?? 'selfless_bench',
          coalesceWrites: process.env.BENCH_COALESCE !== '0',
        }
      : { engine: 'sqlite' },
  );
  const server = await startTablesServer({ engine, log: makeLogger('tables', { level: 'error' }) });
  port = Number(new URL(server.url).port);
}
process.stdout.write(`listening ${port}\n`);
// Exit through process.exit so --cpu-prof and friends can write their output.
process.once('SIGTERM', () => process.exit(0));
