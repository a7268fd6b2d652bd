// Hands integration tests a real Redis, a real CQL database and a real Kubernetes
// API server. Each is resolved on its own, in this order:
//   1. an endpoint from the environment (REDIS_URL, CQL_CONTACT_POINTS, KUBECONFIG);
//   2. Testcontainers, when a container runtime answers (Redis, ScyllaDB, k3s);
//   3. local processes from the binaries that provision.sh caches.
// `npm test` resolves them once, exports the endpoints to every test process and
// stops them at the end; a test file run alone starts its own and stops them on exit.
import { makeLogger } from '../../lib/log.ts';
import {
  containerRuntimeAnswers,
  startK3sContainer,
  startRedisContainer,
  startScyllaContainer,
} from './containers.ts';
import { startCassandra, startKubeApiServer, startRedis, type Started } from './local.ts';
import { reapStaleServices, releaseServicesOnExit } from './process.ts';

export interface TestServices {
  /** ioredis URL. */
  redisUrl: string;
  /** host:port of each CQL node. */
  cqlContactPoints: string[];
  /** The data center cassandra-driver must name as local. */
  cqlLocalDataCenter: string;
  /** Path of a kubeconfig whose current context is an admin of a real API server. */
  kubeconfig: string;
}

export type ServiceName = 'redis' | 'cql' | 'kube';
export type Source = 'environment' | 'container' | 'local process';

const log = makeLogger('test-services');

export function servicesFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<TestServices> {
  const s: Partial<TestServices> = {};
  if (env.REDIS_URL) s.redisUrl = env.REDIS_URL;
  if (env.CQL_CONTACT_POINTS) {
    s.cqlContactPoints = env.CQL_CONTACT_POINTS.split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    s.cqlLocalDataCenter = env.CQL_LOCAL_DATACENTER ?? 'datacenter1';
  }
  if (env.KUBECONFIG) s.kubeconfig = env.KUBECONFIG;
  return s;
}

export function servicesToEnv(s: TestServices): Record<string, string> {
  return {
    REDIS_URL: s.redisUrl,
    CQL_CONTACT_POINTS: s.cqlContactPoints.join(','),
    CQL_LOCAL_DATACENTER: s.cqlLocalDataCenter,
    KUBECONFIG: s.kubeconfig,
  };
}

const starters: Record<
  ServiceName,
  { container(): Promise<Started<string>>; local(): Promise<Started<string>> }
> = {
  redis: { container: startRedisContainer, local: startRedis },
  cql: { container: startScyllaContainer, local: startCassandra },
  kube: { container: startK3sContainer, local: startKubeApiServer },
};

/** Which services the environment does not already name. */
export function missingServices(env: NodeJS.ProcessEnv = process.env): ServiceName[] {
  const s = servicesFromEnv(env);
  const missing: ServiceName[] = [];
  if (!s.redisUrl) missing.push('redis');
  if (!s.cqlContactPoints?.length) missing.push('cql');
  if (!s.kubeconfig) missing.push('kube');
  return missing;
}

export interface RunningServices {
  services: TestServices;
  sources: Record<ServiceName, Source>;
  stop(): Promise<void>;
}

/**
 * Starts whatever the environment does not provide, all at once (Cassandra and the
 * API server take seconds each; in parallel the wait is the slowest of them).
 */
export async function startTestServices(
  env: NodeJS.ProcessEnv = process.env,
  opts: { useContainers?: boolean } = {},
): Promise<RunningServices> {
  reapStaleServices();
  const missing = missingServices(env);
  const useContainers =
    missing.length > 0 && (opts.useContainers ?? (await containerRuntimeAnswers()));
  if (missing.length > 0 && !useContainers) {
    log.info('no container runtime answers: starting local processes', { services: missing });
  }
  const sources = { redis: 'environment', cql: 'environment', kube: 'environment' } as Record<
    ServiceName,
    Source
  >;
  const started: Partial<Record<ServiceName, Started<string>>> = {};
  const results = await Promise.allSettled(
    missing.map(async (name) => {
      const t0 = Date.now();
      const s = useContainers ? await starters[name].container() : await starters[name].local();
      started[name] = s;
      sources[name] = useContainers ? 'container' : 'local process';
      log.info('service ready', {
        service: name,
        endpoint: s.endpoint,
        source: sources[name],
        ms: Date.now() - t0,
      });
    }),
  );
  const stop = async () => {
    await Promise.all(Object.values(started).map((s) => s.stop()));
  };
  const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  const fromEnv = servicesFromEnv(env);
  const services: TestServices = {
    redisUrl: started.redis?.endpoint ?? fromEnv.redisUrl!,
    cqlContactPoints: started.cql ? [started.cql.endpoint] : fromEnv.cqlContactPoints!,
    cqlLocalDataCenter: started.cql ? 'datacenter1' : fromEnv.cqlLocalDataCenter!,
    kubeconfig: started.kube?.endpoint ?? fromEnv.kubeconfig!,
  };
  return { services, sources, stop };
}

let shared: Promise<TestServices> | undefined;

/**
 * For tests: the services of this test run. Under `npm test` they come from the
 * environment at no cost; a test file run alone starts them once per process and
 * stops them when the process ends.
 */
export function testServices(): Promise<TestServices> {
  if (!shared) {
    if (missingServices().length > 0) releaseServicesOnExit();
    shared = startTestServices().then((r) => r.services);
  }
  return shared;
}
