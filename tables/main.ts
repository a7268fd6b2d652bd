// `selfless tables`: the table service alone, with /metrics.
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { makeLogger, type Logger } from '../lib/log.ts';
import { openEngine, type EngineConfig } from './engine.ts';
import { makeTablesHandler, type TablesHandler } from './http.ts';
import { makeDrain } from '../lib/http-drain.ts';
import { startTablesServer } from './server.ts';
import { RedisBucketStore } from './capacity/store-redis.ts';
import { parseWriteIsolation } from './storage/write-isolation.ts';

export { isTablesRequest } from './http.ts';
export type { EngineConfig } from './engine.ts';

/**
 * The table service as a request handler for a port another part of the binary owns
 * (selfless dev serves it beside the gateway), its instruments on `registry`.
 */
export async function openTables(opts: {
  engine: EngineConfig;
  registry?: Registry;
  log?: Logger;
}): Promise<{ handler: TablesHandler; close(): Promise<void> }> {
  const engine = await openEngine(opts.engine);
  return {
    handler: makeTablesHandler({
      engine,
      ...(opts.registry && { registry: opts.registry }),
      ...(opts.log && { log: opts.log }),
    }),
    close: () => engine.close(),
  };
}

const help = `Usage: selfless tables [options]

Serves the DynamoDB API (JSON 1.0) and GET /metrics.

Options:
  --port N                    listen port (default 8000)
  --host H                    listen address (default 127.0.0.1)
  --engine sqlite|cql         storage engine (default sqlite)
  --sqlite-file F             sqlite database file (default: in memory)
  --cql-contact-points L      comma-separated host:port list (cql)
  --cql-local-datacenter D    local data center (default datacenter1)
  --cql-keyspace K            keyspace (default selfless_tables)
  --write-isolation W         tables without a system:write_isolation tag:
                              only_rmw_uses_lwt (default), always_use_lwt or
                              forbid_rmw (see docs/tables.md)
  --cql-always-lwt            the same as --write-isolation always_use_lwt
  --access-keys L             require SigV4: comma-separated KEY:SECRET pairs
                              (or SELFLESS_TABLES_ACCESS_KEYS)
  --redis-url U               capacity budgets shared by every replica in this
                              Redis (or REDIS_URL; default: per process); with a
                              cache, its invalidations reach every replica too
  --cache-item-ttl S          read cache: seconds GetItem/BatchGetItem answers are
                              kept, for every table without its own setting
                              (default 0: off; see docs/tables.md)
  --cache-query-ttl S         read cache: seconds Query/Scan pages are kept (0: off)
  --cache-max-mb N            read cache memory bound (default 64)
  --dax-port N                also serve the DAX protocol (the official DAX
                              clients) on this TCP port; default: off
  --dax-advertise IP:PORT     the address DAX discovery tells clients to connect
                              to (default: the one they reached)
  --shutdown-delay S          on SIGTERM, keep serving (readiness /readyz 503,
                              clients told to close their connections) this long
                              while the Service's endpoints update (default 5)
  --shutdown-timeout S        then wait for open requests at most until this long
                              after SIGTERM (default 25)
`;

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string', default: '8000' },
      host: { type: 'string', default: '127.0.0.1' },
      engine: { type: 'string', default: 'sqlite' },
      'sqlite-file': { type: 'string' },
      'cql-contact-points': { type: 'string' },
      'cql-local-datacenter': { type: 'string', default: 'datacenter1' },
      'cql-keyspace': { type: 'string', default: 'selfless_tables' },
      'cql-always-lwt': { type: 'boolean', default: false },
      'write-isolation': { type: 'string' },
      'access-keys': { type: 'string' },
      'shutdown-delay': { type: 'string', default: '5' },
      'shutdown-timeout': { type: 'string', default: '25' },
      'redis-url': { type: 'string' },
      'cache-item-ttl': { type: 'string', default: '0' },
      'cache-query-ttl': { type: 'string', default: '0' },
      'cache-max-mb': { type: 'string', default: '64' },
      'dax-port': { type: 'string' },
      'dax-advertise': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  const log = makeLogger('tables');
  const isolationFlag = values['cql-always-lwt'] ? 'always_use_lwt' : values['write-isolation'];
  const writeIsolation =
    isolationFlag === undefined ? undefined : parseWriteIsolation(isolationFlag);
  if (isolationFlag !== undefined && !writeIsolation) {
    process.stderr.write(`selfless tables: unknown --write-isolation '${isolationFlag}'\n`);
    return 2;
  }
  let config: EngineConfig;
  if (values.engine === 'cql') {
    const points = (values['cql-contact-points'] ?? process.env.CQL_CONTACT_POINTS ?? '')
      .split(',')
      .filter(Boolean);
    if (!points.length) {
      process.stderr.write('selfless tables: --cql-contact-points is required with --engine cql\n');
      return 2;
    }
    config = {
      engine: 'cql',
      contactPoints: points,
      localDataCenter: values['cql-local-datacenter']!,
      keyspace: values['cql-keyspace']!,
      writeIsolation,
    };
  } else if (values.engine === 'sqlite') {
    config = { engine: 'sqlite', file: values['sqlite-file'], writeIsolation };
  } else {
    process.stderr.write(`selfless tables: unknown engine '${values.engine}'\n`);
    return 2;
  }
  const keys = values['access-keys'] ?? process.env.SELFLESS_TABLES_ACCESS_KEYS;
  const auth = keys
    ? {
        credentials: Object.fromEntries(
          keys.split(',').map((pair) => {
            const i = pair.indexOf(':');
            return [pair.slice(0, i), pair.slice(i + 1)];
          }),
        ),
      }
    : undefined;
  const delay = Number(values['shutdown-delay']);
  const timeout = Number(values['shutdown-timeout']);
  if (!(delay >= 0 && timeout >= 0)) {
    process.stderr.write('selfless tables: --shutdown-delay and --shutdown-timeout are seconds\n');
    return 2;
  }
  const drain = makeDrain({
    delayMs: delay * 1000,
    maxMs: timeout * 1000,
    isClient: (req) => req.url !== '/metrics',
  });
  const daxPort = values['dax-port'] === undefined ? undefined : Number(values['dax-port']);
  if (daxPort !== undefined && !(Number.isInteger(daxPort) && daxPort >= 0 && daxPort < 65536)) {
    process.stderr.write('selfless tables: --dax-port is a TCP port\n');
    return 2;
  }
  const advertised = values['dax-advertise'];
  const advertiseMatch = advertised === undefined ? undefined : /^(.+):(\d+)$/.exec(advertised);
  const daxAdvertise = advertiseMatch && {
    address: advertiseMatch[1]!.replace(/^\[(.*)\]$/, '$1'),
    port: Number(advertiseMatch[2]),
  };
  if (advertised !== undefined && !(daxAdvertise && isIP(daxAdvertise.address))) {
    process.stderr.write('selfless tables: --dax-advertise is IP:PORT\n');
    return 2;
  }
  const engine = await openEngine(config);
  const redisUrl = values['redis-url'] ?? process.env.REDIS_URL;
  const capacityStore = redisUrl ? new RedisBucketStore(new Redis(redisUrl)) : undefined;
  // The cache is built whenever a table may ask for it through its tags; the
  // service-wide TTLs only set the default of tables without them.
  const cache = {
    defaults: {
      itemTtlSeconds: Number(values['cache-item-ttl']),
      queryTtlSeconds: Number(values['cache-query-ttl']),
    },
    maxBytes: Number(values['cache-max-mb']) * 1024 * 1024,
    ...(redisUrl && { redis: { pub: new Redis(redisUrl), sub: new Redis(redisUrl) } }),
  };
  const server = await startTablesServer({
    engine,
    capacityStore,
    cache,
    port: Number(values.port),
    host: values.host,
    auth,
    log,
    defaultMetrics: true,
    wrap: drain.handler,
    daxPort,
    ...(daxAdvertise && { daxAdvertise }),
  });
  log.info('table service listening', {
    url: server.url,
    engine: config.engine,
    auth: !!auth,
    ...(server.dax && { daxPort: server.dax.port }),
  });
  const signal = await new Promise<string>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve(sig));
  });
  log.info('shutting down', { signal });
  // SIGTERM is the kubelet: drain out of the Service first. Ctrl-C closes at once.
  await (signal === 'SIGTERM' ? drain.drain(server.server) : server.close());
  await capacityStore?.close();
  await engine.close();
  return 0;
}
