// One benchmark target in its own process, so the load generator never shares its
// event loop: `serve.ts selfless-sqlite | selfless-cql | dynalite | floor`. The
// floor is node:http doing the least any JSON API must (read, parse, answer a
// fixed item): no server on this runtime can beat it. `cql-floor` is the same
// with one prepared CQL read per request (BENCH_KEYSPACE.raw_items), the least an
// HTTP front over CQL costs on this machine. Prints
// `listening <port>` when ready. The cql target reads CQL_CONTACT_POINTS,
// CQL_LOCAL_DATACENTER and BENCH_KEYSPACE.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import cassandra from 'cassandra-driver';
import dynalite from 'dynalite';
import { makeLogger } from '../../lib/log.ts';
import { openEngine } from '../../tables/engine.ts';
import { startTablesServer } from '../../tables/server.ts';

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
  const client = new cassandra.Client({
    contactPoints: (process.env.CQL_CONTACT_POINTS ?? '').split(','),
    localDataCenter: process.env.CQL_LOCAL_DATACENTER ?? 'datacenter1',
  });
  await client.connect();
  const q = `SELECT item FROM ${process.env.BENCH_KEYSPACE}.raw_items WHERE pk = ? AND sk = ?`;
  const empty = Buffer.alloc(0);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        Key: { id: { S: string } };
      };
      client.execute(q, [Buffer.from(body.Key.id.S), empty], { prepare: true }).then(
        (rs) => {
          const out = Buffer.from(`{"Item":${rs.first()?.item as string}}`);
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
        }
      : { engine: 'sqlite' },
  );
  const server = await startTablesServer({ engine, log: makeLogger('tables', { level: 'error' }) });
  port = Number(new URL(server.url).port);
}
process.stdout.write(`listening ${port}\n`);
// Exit through process.exit so --cpu-prof and friends can write their output.
process.once('SIGTERM', () => process.exit(0));
