// Reconciles one warm pool, keyed `namespace/runtime`: a pool exists where the
// configuration gives the runtime a size and the namespace has at least one Function
// a pool worker can serve (lib/warm-pool.ts poolable); it is owned by all of them.
// Where either is missing, our pool Deployment and its token Secret go.
import type * as k8s from '@kubernetes/client-node';
import { parseFunctionManifest } from '../../lib/function.ts';
import type { Logger } from '../../lib/log.ts';
import { RUNTIMES, type Runtime } from '../../lib/runtimes.ts';
import { POOL_LABEL, poolable } from '../../lib/warm-pool.ts';
import type { Informer, Obj } from '../../lib/kubernetes/informer.ts';
import type { Applier } from '../apply.ts';
import type { ReconcileResult, Reconciler } from '../controller.ts';
import type { Endpoint } from '../function/egress-policy.ts';
import type { FunctionObject, WorkerConfig } from '../function/function-object.ts';
import type { FunctionResource } from '../function/reconciler.ts';
import {
  POOL_TOKEN_SECRET,
  makePoolDeployment,
  makePoolEgressPolicy,
  makePoolTokenSecret,
  poolDeploymentName,
  type PoolConfig,
} from './deployment.ts';

export interface PoolReconcilerDeps {
  functions: Informer<FunctionResource>;
  deployments: Informer<k8s.V1Deployment & Obj>;
  applier: Applier;
  /** Addresses workers must not reach; the pool's pods get the same egress policy. */
  protectedEndpoints: () => Promise<Endpoint[]>;
  worker: Omit<WorkerConfig, 'replicas' | 'codeHash'>;
  pool: PoolConfig;
  log: Logger;
}

export function poolKeyOf(namespace: string, runtime: Runtime): string {
  return `${namespace}/${runtime}`;
}

/** The pools a change to this object may concern. */
export function poolKeysFor(obj: Obj, pool: PoolConfig): string[] {
  const namespace = obj.metadata?.namespace;
  if (!namespace) return [];
  const runtime = obj.metadata?.labels?.[POOL_LABEL];
  if (runtime) return [poolKeyOf(namespace, runtime as Runtime)];
  return Object.keys(pool.sizes).map((r) => poolKeyOf(namespace, r as Runtime));
}

const poolEgressRef = (namespace: string, deployment: string) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: `${deployment}-egress`, namespace },
});

export function makePoolReconciler(deps: PoolReconcilerDeps): Reconciler {
  /** The Functions of `namespace` a pool of `runtime` may serve, in a stable order. */
  function owners(namespace: string, runtime: Runtime): FunctionObject[] {
    const found: FunctionObject[] = [];
    for (const obj of deps.functions.list()) {
      if (obj.metadata?.namespace !== namespace || obj.metadata.deletionTimestamp) continue;
      const parsed = parseFunctionManifest(obj);
      if (!parsed.ok || parsed.value.spec.runtime !== runtime || !poolable(parsed.value)) continue;
      found.push({ def: parsed.value, uid: obj.metadata.uid! });
    }
    return found.sort((a, b) => a.def.name.localeCompare(b.def.name));
  }

  return {
    kind: 'Pool',
    async reconcile(key: string): Promise<ReconcileResult | void> {
      const [namespace, runtime] = key.split('/') as [string, Runtime];
      if (!RUNTIMES.includes(runtime)) return;
      const name = poolDeploymentName(runtime);
      const cached = deps.deployments.get(`${namespace}/${name}`);
      const size = deps.pool.sizes[runtime] ?? 0;
      const fns = size > 0 ? owners(namespace, runtime) : [];
      if (fns.length === 0) {
        if (cached?.metadata?.labels?.[POOL_LABEL] === runtime) {
          await deps.applier.delete(cached);
          if (deps.worker.workerToken)
            await deps.applier.delete({
              apiVersion: 'v1',
              kind: 'Secret',
              metadata: { name: POOL_TOKEN_SECRET, namespace },
            });
          await deps.applier.delete(poolEgressRef(namespace, name));
          deps.log.info('warm pool removed', { namespace, runtime });
        }
        return;
      }
      const uids = [
        ...fns.map((f) => f.uid),
        ...(cached?.metadata?.ownerReferences ?? []).map((o) => o.uid),
      ];
      if (deps.worker.workerToken) {
        const secret = makePoolTokenSecret(namespace, runtime, fns, deps.worker.workerToken);
        const outcome = await deps.applier.ensure(secret, uids, undefined);
        if (typeof outcome === 'object') throw new Error(outcome.conflict);
      }
      // Before the Deployment, as for a function: no pool pod starts with a way out.
      const egress = makePoolEgressPolicy(namespace, runtime, fns, await deps.protectedEndpoints());
      if (egress) {
        const out = await deps.applier.ensure(egress, uids, undefined);
        if (typeof out === 'object') throw new Error(out.conflict);
      } else await deps.applier.delete(poolEgressRef(namespace, name));
      const desired = makePoolDeployment(namespace, runtime, fns, deps.worker, deps.pool);
      // Ours if it carries our pool label; its owners change as Functions come and go.
      const outcome = await deps.applier.ensure(
        desired,
        cached?.metadata?.labels?.[POOL_LABEL] === runtime ? uids : fns.map((f) => f.uid),
        cached,
      );
      if (typeof outcome === 'object') {
        deps.log.warn('warm pool not applied', { namespace, runtime, error: outcome.conflict });
        return { requeueAfterMs: 60_000 };
      }
      if (outcome !== 'unchanged')
        deps.log.info(`warm pool ${outcome}`, { namespace, runtime, size, functions: fns.length });
    },
  };
}
