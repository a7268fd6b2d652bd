// `selfless dev [dir] [--port N]`: the functions (and tables) of a folder of
// manifests on one port, with workers as local processes. Everything an AWS SDK
// needs is on that port, so AWS_ENDPOINT_URL=http://localhost:N is all a client sets.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeLogger } from '../lib/log.ts';
import { loadManifests, type TableManifest } from '../lib/manifests.ts';
import { createTableInput } from '../lib/table.ts';
import {
  composeGateway,
  ConfigError,
  DEFAULT_ACCOUNT,
  scheduleTriggers,
  upcoming,
  type ComposedGateway,
  type Gateway,
  type GatewayConfig,
} from '../gateway/main.ts';
import { isTablesRequest, openTables } from '../tables/main.ts';

const HELP = `Usage: selfless dev [dir] [options]

Runs the Function (and Table) manifests of a folder on one port.

Options:
  --port N                 port to listen on (default 4566; 0 picks a free one)
  --host H                 address to bind (default 127.0.0.1)
  --idle-timeout S         stop environments idle this many seconds (default 600)
  --account-concurrency N  the account's concurrency limit (default 1000)
  --tables-file F          keep tables in this SQLite file (default: in memory)
  --state-dir DIR          keep what the Lambda API deploys (CreateFunction, versions,
                           aliases, tags) in DIR across restarts (default: in memory)
  --redis URL              keep async events (Event invocations, schedules) and count
                           concurrency in this Redis (default: in memory, lost on restart)
  -h, --help               this help
`;

export interface DevServer {
  url: string;
  gateway: Gateway;
  /** Names of the tables created from the manifests. */
  tables: string[];
  tablesFile?: string;
  server: Server;
  close(): Promise<void>;
}

export interface DevOptions {
  dir: string;
  port: number;
  host: string;
  idleTimeoutMs: number;
  accountLimit: number;
  /** SQLite file for the tables; in memory when absent. */
  tablesFile?: string;
  /** Redis for async events and concurrency; an in-process queue when absent. */
  redisUrl?: string;
  /** Where functions deployed through the Lambda API are kept; in memory when absent. */
  stateDir?: string;
  log?: ReturnType<typeof makeLogger>;
  /** Event source mapping pace (tests). */
  eventSources?: GatewayConfig['eventSources'];
}

export async function startDev(opts: DevOptions): Promise<DevServer> {
  const log = opts.log ?? makeLogger('dev');
  const manifests = loadManifests(opts.dir);
  if (manifests.errors.length > 0) throw new ManifestError(manifests.errors);

  // The port must be known before functions start: they get it as their endpoint.
  const server = createServer();
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => ok());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  const { region } = DEFAULT_ACCOUNT;

  let composed: ComposedGateway;
  try {
    composed = await composeGateway({
      log,
      functions: { manifests: manifests.functions },
      workers: {
        process: {
          env: {
            AWS_ENDPOINT_URL_LAMBDA: url,
            AWS_ENDPOINT_URL_DYNAMODB: url,
            AWS_REGION: region,
            AWS_DEFAULT_REGION: region,
            // The local endpoint does not check signatures; the SDK still wants keys.
            AWS_ACCESS_KEY_ID: 'selfless',
            AWS_SECRET_ACCESS_KEY: 'selfless',
          },
        },
      },
      ...(opts.redisUrl && { redisUrl: opts.redisUrl }),
      ...(opts.stateDir && { stateDir: opts.stateDir }),
      // The tables answer on the same port: event source mappings read their streams there.
      tablesUrl: url,
      ...(opts.eventSources && { eventSources: opts.eventSources }),
      eventsWithoutRedis: 'memory',
      quotas: { accountLimit: opts.accountLimit },
      idleTimeoutMs: opts.idleTimeoutMs,
      scheduleCheckMs: 1_000,
    });
  } catch (err) {
    server.close();
    throw err instanceof ConfigError ? new ManifestError(err.problems) : err;
  }
  const { gateway } = composed;
  // One /metrics for everything on the port: the tables register on the gateway's registry.
  const tables = await openTables({
    engine: { engine: 'sqlite', ...(opts.tablesFile && { file: opts.tablesFile }) },
    registry: gateway.metrics.registry,
    log,
  });
  server.on('request', (req, res) =>
    isTablesRequest(req) || tablesHealth(req, gateway.registry)
      ? tables.handler(req, res)
      : gateway.app(req, res),
  );

  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await composed.close();
    await tables.close();
  };
  const tableErrors = await createTables(url, region, manifests.tables);
  if (tableErrors.length > 0) {
    await close();
    throw new ManifestError(tableErrors);
  }
  return {
    url,
    gateway,
    server,
    tables: manifests.tables.map((t) => t.tableName),
    ...(opts.tablesFile && { tablesFile: opts.tablesFile }),
    close,
  };
}

/**
 * `GET /` without a target is DynamoDB's health check (`healthy: dynamodb.<region>...`,
 * which clients and test suites probe), unless a function's HTTP route claims it.
 */
function tablesHealth(req: IncomingMessage, registry: Gateway['registry']): boolean {
  if (req.method !== 'GET' || req.url !== '/') return false;
  return !registry
    .list()
    .some((fn) =>
      fn.spec.triggers.some(
        (t) => 'http' in t && t.http.path === '/' && ['GET', 'ANY'].includes(t.http.method),
      ),
    );
}

/** Creates the manifests' tables through the DynamoDB API itself; existing ones stay. */
async function createTables(
  url: string,
  region: string,
  tables: TableManifest[],
): Promise<string[]> {
  if (tables.length === 0) return [];
  const { DynamoDBClient, CreateTableCommand, ResourceInUseException } =
    await import('@aws-sdk/client-dynamodb');
  const client = new DynamoDBClient({
    endpoint: url,
    region,
    credentials: { accessKeyId: 'selfless', secretAccessKey: 'selfless' },
  });
  const errors: string[] = [];
  try {
    for (const t of tables) {
      try {
        await client.send(new CreateTableCommand(createTableInput(t.spec, t.tableName)));
      } catch (err) {
        if (err instanceof ResourceInUseException) continue;
        errors.push(
          `${t.file}: Table ${t.name}: ${(err as Error).name}: ${(err as Error).message}`,
        );
      }
    }
  } finally {
    client.destroy();
  }
  return errors;
}

export class ManifestError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid manifests:\n  ${problems.join('\n  ')}`);
  }
}

function banner(dev: DevServer, dir: string): string {
  const fns = dev.gateway.registry.list();
  const lines = [`Selfless dev is serving ${dir} on ${dev.url}`, ''];
  lines.push(fns.length ? 'Functions:' : 'No Function manifests found.');
  for (const fn of fns) {
    const routes = fn.spec.triggers.flatMap((t) =>
      'http' in t ? [`${t.http.method} ${t.http.path}`] : [],
    );
    lines.push(
      `  ${fn.name} (${fn.spec.runtime})${routes.length ? `  routes: ${routes.join(', ')}` : ''}`,
    );
  }
  const first = fns.find((f) => f.name === 'hello') ?? fns[0];
  if (first) {
    lines.push(
      '',
      'Try:',
      `  export AWS_ENDPOINT_URL=${dev.url} AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x`,
    );
    lines.push(
      `  aws lambda invoke --function-name ${first.name} --payload '{}' --cli-binary-format raw-in-base64-out out.json`,
    );
    for (const fn of fns) {
      const route = fn.spec.triggers.find(
        (t) => 'http' in t && (t.http.method === 'GET' || t.http.method === 'ANY'),
      );
      if (route && 'http' in route) {
        lines.push(`  curl ${dev.url}${route.http.path.replace(/\{([^}+]+)\+?\}/g, '$1')}`);
        break;
      }
    }
  }
  const schedules = scheduleTriggers(dev.gateway.registry);
  if (schedules.length > 0) {
    lines.push('', 'Schedules (UTC, next firings):');
    for (const t of schedules) {
      const next = upcoming(t, Date.now(), 3).map((at) => new Date(at).toISOString().slice(0, 16));
      lines.push(`  ${t.fn.name} ${t.schedule.expression}: ${next.join(', ') || 'none'}`);
    }
  }
  const durable = dev.gateway.async?.store.durable;
  lines.push(
    '',
    durable
      ? 'Async events (Event invocations, schedules) are kept in Redis.'
      : 'Async events (Event invocations, schedules) are kept in memory: they do not survive a restart.',
  );
  if (dev.tables.length > 0) {
    lines.push(
      '',
      `Tables: ${dev.tables.join(', ')} (${dev.tablesFile ? `in ${dev.tablesFile}` : 'in memory: --tables-file F keeps them'})`,
    );
  }
  lines.push('', 'Ctrl-C stops everything.');
  return lines.join('\n') + '\n';
}

export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string', default: '4566' },
        host: { type: 'string', default: '127.0.0.1' },
        'idle-timeout': { type: 'string', default: '600' },
        'account-concurrency': { type: 'string', default: '1000' },
        'tables-file': { type: 'string' },
        redis: { type: 'string' },
        'state-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`selfless dev: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const numbers = ['port', 'idle-timeout', 'account-concurrency'] as const;
  const bad = numbers.find((k) => !/^\d+$/.test(String(args.values[k])));
  if (bad) {
    process.stderr.write(
      `selfless dev: --${bad} must be a whole number, got ${String(args.values[bad])}\n`,
    );
    return 2;
  }
  const dir = resolve(args.positionals[0] ?? '.');
  const log = makeLogger('dev');
  let dev: DevServer;
  try {
    dev = await startDev({
      dir,
      port: Number(args.values.port),
      host: args.values.host!,
      idleTimeoutMs: Number(args.values['idle-timeout']) * 1000,
      accountLimit: Number(args.values['account-concurrency']),
      ...(args.values['tables-file'] && { tablesFile: resolve(args.values['tables-file']) }),
      ...(args.values.redis && { redisUrl: args.values.redis }),
      ...(args.values['state-dir'] && { stateDir: resolve(args.values['state-dir']) }),
      log,
    });
  } catch (err) {
    process.stderr.write(`selfless dev: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(banner(dev, args.positionals[0] ?? '.'));
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      void dev.close().then(done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
