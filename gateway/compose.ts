// The gateway's one composition root: from one config it chooses where functions come
// from (manifests or the cluster's Function resources), the event store and the
// concurrency limiter (Redis when given, so every replica shares them; memory
// otherwise), the driver that starts environments (local processes, or remote agents
// over the worker channel), the scheduler and the event source mappings. `selfless gateway` and `selfless dev`
// both start the gateway through here, so the two cannot choose differently.
import { join } from 'node:path';
import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { FunctionDefinition } from '../lib/function.ts';
import type { Logger } from '../lib/log.ts';
import type { SigV4Credentials } from '../lib/sigv4.ts';
import { DEFAULT_ACCOUNT, makeGateway, type Authenticate, type Gateway } from './app.ts';
import { MemoryEventStore } from './async/memory-store.ts';
import { connectRedis } from './async/redis.ts';
import { RedisEventStore } from './async/redis-store.ts';
import { makeAsync } from './async/service.ts';
import type { EventStore } from './async/store.ts';
import { startClusterMode, type ClusterMode } from './cluster/mode.ts';
import { makeProcessDriver } from './drivers/process.ts';
import { RedisMappingStore } from './event-sources/redis-store.ts';
import { makeEventSources, type EventSourceOptions } from './event-sources/service.ts';
import { MemoryMappingStore } from './event-sources/store.ts';
import { streamsClient } from './event-sources/streams-client.ts';
import type { Account } from './invoker.ts';
import {
  checkDeclaredReservations,
  DEFAULT_QUOTAS,
  InProcessLimiter,
  type AccountQuotas,
  type ConcurrencyLimiter,
} from './limiter.ts';
import { RedisLimiter } from './limiter-redis.ts';
import type { GatewayMetrics } from './metrics.ts';
import { FunctionRegistry } from './registry.ts';
import { FunctionCatalog } from './lambda-api/catalog.ts';
import { kubernetesWriter } from './lambda-api/kubernetes-writer.ts';
import { kubernetesReservations, type SetReserved } from './lambda-api/kubernetes-reservations.ts';
import { registryWriter } from './lambda-api/registry-writer.ts';
import { StateDir } from './lambda-api/state-dir.ts';
import { KubernetesLayerStores } from './layers/kubernetes-store.ts';
import { MemoryLayerStore } from './layers/store.ts';

export interface GatewayConfig {
  log: Logger;
  /** Where the functions come from: a list (manifests) or the cluster's resources. */
  functions:
    | { manifests: FunctionDefinition[] }
    | { kubernetes: { kubeconfig?: string; namespace?: string } };
  /** Environments as local processes, or agents that connect over the worker channel. */
  workers: { process: { env: Record<string, string> } } | { remote: { token?: string } };
  /** Redis for async events and concurrency counted across replicas. */
  redisUrl?: string;
  /**
   * Without Redis: keep async events in memory (selfless dev: lost on restart) or
   * refuse Event invocations (a gateway replica must not hold events it could lose).
   */
  eventsWithoutRedis: 'memory' | 'refuse';
  /** Lambda's defaults for what is not given. */
  quotas?: Partial<AccountQuotas>;
  account?: Account;
  idleTimeoutMs: number;
  /** How long a call may wait for an environment beyond its function's timeout (default 10 s). */
  coldStartAllowanceMs?: number;
  authenticate?: Authenticate;
  /** How often the scheduler looks for due schedule ticks (default 5 s). */
  scheduleCheckMs?: number;
  /** Instruments on a registry another component shares (selfless dev's one /metrics). */
  metrics?: GatewayMetrics;
  /** Keep what the Lambda API creates (functions, versions, aliases, tags) in this directory. */
  stateDir?: string;
  /** The table service (DynamoDB and Streams API): event source mappings read its streams. */
  tablesUrl?: string;
  /** The key the gateway signs its table-service calls with (one of the service's access keys); absent: unsigned. */
  tablesCredentials?: SigV4Credentials;
  /** Event source mapping pace (tests): poller options, pass interval, clock. */
  eventSources?: Pick<EventSourceOptions, 'poller' | 'refreshMs' | 'clock'>;
}

export interface ComposedGateway {
  gateway: Gateway;
  /** Present in cluster mode. */
  cluster?: ClusterMode;
  /** Present when async events are accepted. */
  events?: EventStore;
  redis?: Redis;
  close(): Promise<void>;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

export async function composeGateway(config: GatewayConfig): Promise<ComposedGateway> {
  const { log } = config;
  const quotas: AccountQuotas = { ...DEFAULT_QUOTAS, ...config.quotas };
  const registry = new FunctionRegistry();
  let account = config.account ?? DEFAULT_ACCOUNT;
  let cluster: ClusterMode | undefined;
  let catalog: FunctionCatalog | undefined;
  let setReserved: SetReserved | undefined;
  if ('manifests' in config.functions) {
    const refusal = checkDeclaredReservations(quotas, config.functions.manifests);
    if (refusal) throw new ConfigError([refusal]);
    for (const fn of config.functions.manifests) registry.put(fn);
    if (config.stateDir) {
      const state = new StateDir(config.stateDir);
      catalog = new FunctionCatalog(registry, registryWriter(registry), {
        onChange: () => state.save(catalog!),
      });
      state.restore(catalog, registry);
    }
  } else {
    cluster = startClusterMode({
      registry,
      log,
      region: account.region,
      ...config.functions.kubernetes,
    });
    account = cluster.account;
    await cluster.ready;
    catalog = new FunctionCatalog(registry, kubernetesWriter(cluster.kubeConfig, registry));
    setReserved = kubernetesReservations(cluster.kubeConfig, registry);
  }

  const redis = config.redisUrl ? await connectRedis(config.redisUrl, log) : undefined;
  const limiter: ConcurrencyLimiter = redis
    ? new RedisLimiter(redis, quotas, () => registry.reservedTotal(), { log })
    : new InProcessLimiter(quotas, () => registry.reservedTotal());
  const events: EventStore | undefined = redis
    ? new RedisEventStore(redis)
    : config.eventsWithoutRedis === 'memory'
      ? new MemoryEventStore()
      : undefined;
  if (events && !events.durable) {
    log.warn(
      'async events are kept in memory: they do not survive a restart (--redis URL keeps them)',
    );
  }

  // Mappings and checkpoints live beside the async events: in Redis when there is one
  // (every replica sees them), else in this process (kept in the state directory if any).
  const eventSources =
    config.tablesUrl === undefined
      ? undefined
      : makeEventSources({
          store: redis
            ? new RedisMappingStore(redis)
            : new MemoryMappingStore(
                config.stateDir && join(config.stateDir, 'event-source-mappings.json'),
              ),
          streams: streamsClient(config.tablesUrl, account.region, config.tablesCredentials),
          ...config.eventSources,
        });

  // Layers live beside the functions: in the state directory when there is one; in a
  // cluster as LayerVersion resources of each account's namespace.
  const layers = new MemoryLayerStore(config.stateDir);
  const clusterLayers = cluster && new KubernetesLayerStores(cluster.kubeConfig, log);
  await clusterLayers?.ready;
  const extraRoutes = Router();
  const gateway = makeGateway({
    registry,
    log,
    quotas,
    account,
    limiter,
    routes: extraRoutes,
    idleTimeoutMs: config.idleTimeoutMs,
    ...(config.coldStartAllowanceMs !== undefined && {
      workerWait: { coldStartAllowanceMs: config.coldStartAllowanceMs },
    }),
    layers,
    ...(clusterLayers && { layersFor: (ns: string) => clusterLayers.for(ns) }),
    ...(catalog && { catalog }),
    ...(setReserved && { setReserved }),
    ...(config.metrics && { metrics: config.metrics }),
    ...(eventSources && { eventSources }),
    ...(config.authenticate && { authenticate: config.authenticate }),
    ...(cluster && { callerNamespace: cluster.callerNamespace }),
    ...(events && {
      async: makeAsync({
        store: events,
        ...(config.scheduleCheckMs !== undefined && { scheduleCheckMs: config.scheduleCheckMs }),
      }),
    }),
    ...('process' in config.workers
      ? { driver: makeProcessDriver({ log, env: config.workers.process.env, layers }) }
      : { remoteWorkers: config.workers.remote }),
  });
  if (cluster)
    extraRoutes.use(cluster.demandRoutes(gateway.hub, limiter, gateway.metrics.registry));

  return {
    gateway,
    ...(cluster && { cluster }),
    ...(events && { events }),
    ...(redis && { redis }),
    async close() {
      cluster?.stop();
      clusterLayers?.stop();
      await gateway.close();
      redis?.disconnect();
    },
  };
}
