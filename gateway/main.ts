// `selfless gateway`: the gateway on its own. Functions come from a folder of
// manifests or, in a cluster, from the Function resources (`--kubernetes`);
// environments are local processes (`--workers process`) or agents that connect
// over the HTTP worker channel (`--workers remote`, pods).
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { keyOf } from '../lib/function.ts';
import { makeLogger } from '../lib/log.ts';
import { loadManifests } from '../lib/manifests.ts';
import { formatErrors } from '../lib/parse.ts';
import { DEFAULT_ACCOUNT } from './app.ts';
import { makeSigV4Authenticator, parseAccessKeys } from './auth.ts';
import { composeGateway, ConfigError, type GatewayConfig } from './compose.ts';
import { closeServer, makeDrain } from '../lib/http-drain.ts';
import { DEMAND_WAKE_PATH } from '../lib/demand-wake.ts';
import { DEFAULT_QUOTAS } from './limiter.ts';

// The gateway's public surface for the rest of the binary (cli/dev.ts embeds it).
export {
  composeGateway,
  ConfigError,
  type ComposedGateway,
  type GatewayConfig,
} from './compose.ts';
export { DEFAULT_ACCOUNT, type Gateway } from './app.ts';
export { scheduleTriggers, upcoming } from './schedules/scheduler.ts';

const HELP = `Usage: selfless gateway (--manifests DIR | --kubernetes) [options]

The Lambda Invoke API, HTTP routes, quotas and the worker channel.

Options:
  --manifests DIR          Function manifests to serve
  --kubernetes             serve the Function resources of the cluster (in-cluster
                           config, or --kubeconfig F); each namespace is an account
  --kubeconfig F           kubeconfig for --kubernetes outside a pod
  --watch-namespace NS     with --kubernetes: only this namespace's Functions
  --port N                 port (default 8080)
  --host H                 address to bind (default 0.0.0.0)
  --workers process|remote environments as local processes (default), or agents
                           that connect over HTTP (SELFLESS_WORKER_TOKEN guards it)
  --account-concurrency N  account concurrency limit (default 1000)
  --unreserved-floor N     concurrency reservations may not eat (default 100)
  --idle-timeout S         stop environments idle this long (default 600)
  --cold-start-allowance S a call no environment has taken by its function's timeout
                           plus this long is answered with the timeout (default 10)
  --shutdown-delay S       on SIGTERM, keep serving (readiness /readyz 503, clients
                           told to close their connections) this long while the
                           Service's endpoints update (default 5)
  --shutdown-timeout S     then wait for open client calls at most until this long
                           after SIGTERM (default 25)
  --region R               region in ARNs (default us-east-1)
  --account-id ID          12-digit account id in ARNs (default 000000000000)
  --redis URL              Redis for async events (Event invocations, schedules) and
                           concurrency counted across every gateway replica; without
                           it Event invocations are refused and quotas are per replica
  --tables-url URL         the table service (DynamoDB and Streams API): event source
                           mappings and dynamodbStream triggers read its streams;
                           without it they are not served

Environment:
  SELFLESS_ACCESS_KEYS     AKID:SECRET[,AKID:SECRET...]: when set, Lambda API calls
                           must be SigV4-signed with one of these keys
  SELFLESS_WORKER_TOKEN    bearer token remote agents must present
  SELFLESS_TABLES_ACCESS_KEY
                           AKID:SECRET, one of the table service's access keys: the
                           gateway SigV4-signs its calls to --tables-url with it
                           (needed when the table service checks signatures)
`;

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        manifests: { type: 'string' },
        kubernetes: { type: 'boolean' },
        kubeconfig: { type: 'string' },
        'watch-namespace': { type: 'string' },
        port: { type: 'string', default: '8080' },
        host: { type: 'string', default: '0.0.0.0' },
        workers: { type: 'string', default: 'process' },
        'account-concurrency': { type: 'string', default: String(DEFAULT_QUOTAS.accountLimit) },
        'unreserved-floor': { type: 'string', default: String(DEFAULT_QUOTAS.unreservedFloor) },
        'idle-timeout': { type: 'string', default: '600' },
        'cold-start-allowance': { type: 'string', default: '10' },
        'shutdown-delay': { type: 'string', default: '5' },
        'shutdown-timeout': { type: 'string', default: '25' },
        region: { type: 'string', default: DEFAULT_ACCOUNT.region },
        'account-id': { type: 'string', default: DEFAULT_ACCOUNT.accountId },
        redis: { type: 'string' },
        'tables-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`selfless gateway: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const usage = (msg: string) => {
    process.stderr.write(`selfless gateway: ${msg}\n`);
    return 2;
  };
  for (const k of [
    'port',
    'account-concurrency',
    'unreserved-floor',
    'idle-timeout',
    'cold-start-allowance',
    'shutdown-delay',
    'shutdown-timeout',
  ] as const) {
    if (!/^\d+$/.test(values[k]!)) return usage(`--${k} must be a whole number`);
  }
  if (values.workers !== 'process' && values.workers !== 'remote')
    return usage('--workers is process or remote');
  if (!/^\d{12}$/.test(values['account-id']!)) return usage('--account-id must be 12 digits');
  if (!values.manifests === !values.kubernetes)
    return usage('give exactly one of --manifests DIR, --kubernetes');

  const log = makeLogger('gateway');
  let authenticate;
  try {
    const keys = parseAccessKeys(process.env.SELFLESS_ACCESS_KEYS);
    if (keys) authenticate = makeSigV4Authenticator(keys);
  } catch (err) {
    return usage(
      formatErrors([{ field: 'SELFLESS_ACCESS_KEYS', message: (err as Error).message }]),
    );
  }
  let tablesCredentials: GatewayConfig['tablesCredentials'];
  try {
    const pairs = Object.entries(parseAccessKeys(process.env.SELFLESS_TABLES_ACCESS_KEY) ?? {});
    if (pairs.length > 1) throw new Error('expected one AKID:SECRET pair');
    const [pair] = pairs;
    if (pair) tablesCredentials = { accessKeyId: pair[0], secretAccessKey: pair[1] };
  } catch (err) {
    return usage(
      formatErrors([{ field: 'SELFLESS_TABLES_ACCESS_KEY', message: (err as Error).message }]),
    );
  }
  let functions: GatewayConfig['functions'];
  if (values.manifests) {
    const manifests = loadManifests(resolve(values.manifests));
    for (const p of manifests.errors) log.error('invalid manifest', { problem: p });
    if (manifests.errors.length > 0) return 1;
    functions = { manifests: manifests.functions };
  } else {
    functions = {
      kubernetes: {
        ...(values.kubeconfig && { kubeconfig: values.kubeconfig }),
        ...(values['watch-namespace'] && { namespace: values['watch-namespace'] }),
      },
    };
  }
  const port = Number(values.port);
  const region = values.region!;
  let composed;
  try {
    composed = await composeGateway({
      log,
      functions,
      workers:
        values.workers === 'process'
          ? {
              process: {
                env: {
                  AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${port}`,
                  AWS_REGION: region,
                  AWS_DEFAULT_REGION: region,
                },
              },
            }
          : {
              remote: process.env.SELFLESS_WORKER_TOKEN
                ? { token: process.env.SELFLESS_WORKER_TOKEN }
                : {},
            },
      ...(values.redis && { redisUrl: values.redis }),
      ...(values['tables-url'] && { tablesUrl: values['tables-url'] }),
      ...(tablesCredentials && { tablesCredentials }),
      eventsWithoutRedis: 'refuse',
      quotas: {
        accountLimit: Number(values['account-concurrency']),
        unreservedFloor: Number(values['unreserved-floor']),
      },
      account: { region, accountId: values['account-id']! },
      idleTimeoutMs: Number(values['idle-timeout']) * 1000,
      coldStartAllowanceMs: Number(values['cold-start-allowance']) * 1000,
      ...(authenticate && { authenticate }),
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) log.error('invalid manifest', { problem: p });
    return 1;
  }
  const { gateway } = composed;
  const drain = makeDrain({
    delayMs: Number(values['shutdown-delay']) * 1000,
    maxMs: Number(values['shutdown-timeout']) * 1000,
    // The agents' channel stays open to the end: calls in flight return over it. The
    // operator's held wake request is no client's call and must not hold the drain.
    isClient: (req) =>
      !(req.url ?? '').startsWith('/_selfless/worker/') &&
      !(req.url ?? '').startsWith(DEMAND_WAKE_PATH),
  });
  const server = createServer(drain.handler(gateway.app)).listen(port, values.host!);
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  log.info('gateway listening', {
    port,
    functions: gateway.registry.list().map(keyOf),
    kubernetes: composed.cluster !== undefined,
    workers: values.workers,
    sigv4: authenticate !== undefined,
    redis: composed.redis !== undefined,
  });
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      // Ctrl-C (SIGINT) is a person at a terminal: no Service to drain out of.
      const closed = signal === 'SIGTERM' ? drain.drain(server) : closeServer(server);
      void closed.then(() => composed.close()).then(() => done());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
