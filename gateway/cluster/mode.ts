// Cluster mode: the gateway learns its functions from the Function resources (a
// read-only watch), treats each namespace as an account (gateway/cluster/names.ts),
// and reports its share of each function's demand for the operator's scaling.
import * as k8s from '@kubernetes/client-node';
import { Router, type Request } from 'express';
import type { Registry } from 'prom-client';
import { keyOf, splitKey, type FunctionDefinition } from '../../lib/function.ts';
import type { Logger } from '../../lib/log.ts';
import type { WorkerHub } from '../hub.ts';
import type { Account } from '../invoker.ts';
import type { ConcurrencyLimiter } from '../limiter.ts';
import { routeOf, workerKeyOf, type AliasRoute, type FunctionRegistry } from '../registry.ts';
import { DEMAND_PATH, makeDemandHandler } from '../../lib/demand.ts';
import { DEMAND_WAKE_PATH, DemandSignal, makeWakeHandler } from '../../lib/demand-wake.ts';
import {
  DEFAULT_ACCOUNT_ID,
  accountIdForNamespace,
  callerNamespace,
  namespaceForAccount,
} from '../../lib/names.ts';
import { WarmPool } from './warm-pool.ts';
import { watchFunctions, type FunctionWatch } from './watch.ts';

export interface ClusterMode {
  account: Account;
  callerNamespace: (req: Request) => string;
  /** Resolves once every existing Function is in the registry. */
  ready: Promise<void>;
  /** The API server the Functions come from (the deployment API writes them there). */
  kubeConfig: k8s.KubeConfig;
  /**
   * The demand report (GET /_selfless/demand) and its wake (lib/demand-wake.ts),
   * given the gateway's hub and limiter.
   */
  demandRoutes(hub: WorkerHub, limiter: ConcurrencyLimiter, metrics: Registry): Router;
  stop(): void;
}

/** What the resource declares in spec.aliases, as the registry routes calls. */
function aliasRoutes(fn: FunctionDefinition): Map<string, AliasRoute> {
  return new Map((fn.spec.aliases ?? []).map((a) => [a.name, routeOf(a)]));
}

/** The access key id of a SigV4 Authorization header (addressing, not authentication). */
export function accessKeyIdOf(req: Request): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1];
}

export function startClusterMode(opts: {
  kubeconfig?: string;
  /** Watch one namespace only; all by default. */
  namespace?: string;
  region: string;
  registry: FunctionRegistry;
  log: Logger;
}): ClusterMode {
  const kc = new k8s.KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  const { registry, log } = opts;
  const namespaces = new Map<string, number>();
  const count = (ns: string, d: number) => {
    const n = (namespaces.get(ns) ?? 0) + d;
    if (n > 0) namespaces.set(ns, n);
    else namespaces.delete(ns);
  };
  const watch: FunctionWatch = watchFunctions(
    kc,
    (change) => {
      if (change.type === 'putVersion') {
        registry.putVersion(change.fn);
        log.info('function version served', {
          namespace: change.fn.namespace,
          name: change.fn.name,
          version: change.fn.version,
        });
      } else if (change.type === 'removeVersion') {
        registry.removeVersion(keyOf(change), change.version);
      } else if (change.type === 'put') {
        if (!registry.get(keyOf(change.fn))) count(change.fn.namespace, 1);
        registry.put(change.fn);
        registry.setAliases(keyOf(change.fn), aliasRoutes(change.fn));
        log.info('function served', { namespace: change.fn.namespace, name: change.fn.name });
      } else {
        const key = keyOf(change);
        if (registry.get(key)) count(change.namespace, -1);
        registry.remove(key);
        log.info('function withdrawn', {
          namespace: change.namespace,
          name: change.name,
          error: change.error,
        });
      }
    },
    { log, ...(opts.namespace && { namespace: opts.namespace }) },
  );
  const names = () => new Set(namespaces.keys());
  const wake = new DemandSignal();

  return {
    account: {
      region: opts.region,
      accountId: DEFAULT_ACCOUNT_ID,
      accountIdFor: accountIdForNamespace,
      namespaceFor: (id) => namespaceForAccount(id, names()),
    },
    callerNamespace: (req) => callerNamespace(accessKeyIdOf(req), names()),
    ready: watch.ready,
    kubeConfig: kc,
    demandRoutes(hub, limiter, metrics) {
      const router = Router();
      const pool = new WarmPool({ hub, registry, metricsRegistry: metrics, log });
      // A call that waits for a worker is demand the operator should see now.
      hub.on('queued', () => wake.bump());
      router.get(DEMAND_WAKE_PATH, makeWakeHandler(wake));
      router.get(
        DEMAND_PATH,
        makeDemandHandler(() => [
          ...registry.list().map((fn) => {
            const key = keyOf(fn);
            const [namespace, name] = splitKey(key);
            // The limiter counts every admitted call, waiting ones included.
            const queued = hub.queued(key);
            const pods = pool.specializedPods(key);
            const own = pods.length > 0 ? pool.ownWorkers(key) : 0;
            return {
              namespace,
              name,
              inFlight: Math.max(0, limiter.inFlight(key) - queued),
              queued,
              ...(pods.length > 0 && { specializedPods: pods }),
              ...(own > 0 && { ownWorkers: own }),
            };
          }),
          // A published version has workers of its own (namespace/name:N): its calls
          // are in the function's limiter count too, so the hub says which are its.
          ...registry
            .served()
            .filter((fn) => fn.version !== undefined)
            .map((fn) => {
              const wk = workerKeyOf(fn);
              return {
                namespace: fn.namespace,
                name: `${fn.name}:${fn.version}`,
                inFlight: hub.runningCount(wk),
                queued: hub.queued(wk),
              };
            }),
        ]),
      );
      return router;
    },
    stop: () => {
      wake.close();
      watch.stop();
    },
  };
}
