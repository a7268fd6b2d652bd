// `selfless gateway`: the gateway on its own. Functions come from a folder of
// manifests or, in a cluster, from the Function resources (`--kubernetes`);
// environments are local processes (`--workers process`) or agents that connect
// over the HTTP worker channel (`--workers remote`, pods).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { makeLogger } from '../lib/log.ts';
import { keyOf } from '../lib/function.ts';
import { formatErrors } from '../lib/parse.ts';
import { Router } from 'express';
import { loadManifests } from '../lib/manifests.ts';
import { DEFAULT_ACCOUNT, makeGateway } from './app.ts';
import { makeSigV4Authenticator, parseAccessKeys } from './auth.ts';
import { makeProcessDriver } from './drivers/process.ts';
import { checkDeclaredReservations, DEFAULT_QUOTAS, InProcessLimiter } from './limiter.ts';
import { startClusterMode, type ClusterMode } from './cluster/mode.ts';
import type { Account } from './invoker.ts';
import { connectRedis } from './async/redis.ts';
import { RedisEventStore } from './async/redis-store.ts';
import { makeAsync } from './async/service.ts';
import { RedisLimiter } from './limiter-redis.ts';
import { FunctionRegistry } from './registry.ts';

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
  --region R               region in ARNs (default us-east-1)
  --account-id ID          12-digit account id in ARNs (default 000000000000)
  --redis URL              Redis for async events (Event invocations, schedules) and
                           concurrency counted across every gateway replica; without
                           it Event invocations are refused and quotas are per replica

Environment:
  SELFLESS_ACCESS_KEYS     AKID:SECRET[,AKID:SECRET...]: when set, Lambda API calls
                           must be SigV4-signed with one of these keys
  SELFLESS_WORKER_TOKEN    bearer token remote agents must present
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
        region: { type: 'string', default: DEFAULT_ACCOUNT.region },
        'account-id': { type: 'string', default: DEFAULT_ACCOUNT.accountId },
        redis: { type: 'string' },
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
  for (const k of ['port', 'account-concurrency', 'unreserved-floor', 'idle-timeout'] as const) {
    if (!/^\d+$/.test(values[k]!)) return usage(`--${k} must be a whole number`);
  }
  if (values.workers !== 'process' && values.workers !== 'remote')
    return usage('--workers is process or remote');
  if (!/^\d{12}$/.test(values['account-id']!)) return usage('--account-id must be 12 digits');
  if (!values.manifests === !values.kubernetes)
    return usage('give exactly one of --manifests DIR, --kubernetes');

  const log = makeLogger('gateway');
  const quotas = {
    accountLimit: Number(values['account-concurrency']),
    unreservedFloor: Number(values['unreserved-floor']),
  };
  const registry = new FunctionRegistry();
  let account: Account = { region: values.region!, accountId: values['account-id']! };
  let cluster: ClusterMode | undefined;
  if (values.manifests) {
    const manifests = loadManifests(resolve(values.manifests));
    const problems = [...manifests.errors];
    const refusal = checkDeclaredReservations(quotas, manifests.functions);
    if (refusal) problems.push(refusal);
    if (problems.length > 0) {
      for (const p of problems) log.error('invalid manifest', { problem: p });
      return 1;
    }
    for (const fn of manifests.functions) registry.put(fn);
  } else {
    cluster = startClusterMode({
      registry,
      log,
      region: values.region!,
      ...(values.kubeconfig && { kubeconfig: values.kubeconfig }),
      ...(values['watch-namespace'] && { namespace: values['watch-namespace'] }),
    });
    account = cluster.account;
    await cluster.ready;
  }

  let authenticate;
  try {
    const keys = parseAccessKeys(process.env.SELFLESS_ACCESS_KEYS);
    if (keys) authenticate = makeSigV4Authenticator(keys);
  } catch (err) {
    return usage(
      formatErrors([{ field: 'SELFLESS_ACCESS_KEYS', message: (err as Error).message }]),
    );
  }

  const redis = values.redis ? await connectRedis(values.redis, log) : undefined;
  const port = Number(values.port);
  const publicUrl = `http://127.0.0.1:${port}`;
  const limiter = redis
    ? new RedisLimiter(redis, quotas, () => registry.reservedTotal(), { log })
    : new InProcessLimiter(quotas, () => registry.reservedTotal());
  const extraRoutes = Router();
  const gateway = makeGateway({
    limiter,
    routes: extraRoutes,
    ...(cluster && { callerNamespace: cluster.callerNamespace }),
    registry,
    log,
    quotas,
    account,
    idleTimeoutMs: Number(values['idle-timeout']) * 1000,
    ...(authenticate && { authenticate }),
    ...(redis && { async: makeAsync({ store: new RedisEventStore(redis) }) }),
    ...(values.workers === 'process'
      ? {
          driver: makeProcessDriver({
            log,
            env: {
              AWS_ENDPOINT_URL_LAMBDA: publicUrl,
              AWS_REGION: account.region,
              AWS_DEFAULT_REGION: account.region,
            },
          }),
        }
      : {
          remoteWorkers: process.env.SELFLESS_WORKER_TOKEN
            ? { token: process.env.SELFLESS_WORKER_TOKEN }
            : {},
        }),
  });
  if (cluster) extraRoutes.use(cluster.demandRoutes(gateway.hub, limiter));
  const server = gateway.app.listen(port, values.host!);
  await new Promise<void>((ok, fail) => {
    server.once('listening', ok);
    server.once('error', fail);
  });
  log.info('gateway listening', {
    port,
    functions: registry.list().map(keyOf),
    kubernetes: cluster !== undefined,
    workers: values.workers,
    sigv4: authenticate !== undefined,
    redis: redis !== undefined,
  });
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      log.info('shutting down', { signal });
      cluster?.stop();
      server.closeAllConnections();
      server.close();
      void gateway
        .close()
        .then(() => redis?.disconnect())
        .then(() => done());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
