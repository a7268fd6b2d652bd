// Reconciles one Function: the code ConfigMap, then the worker Deployment sized by
// demand, then status from what exists. Phases run in order; each returns the
// condition it contributes. Children are garbage-collected through their owner
// reference when the Function goes.
import * as k8s from '@kubernetes/client-node';
import { parseFunctionManifest } from '../../lib/function.ts';
import { formatErrors } from '../../lib/parse.ts';
import type { Logger } from '../../lib/log.ts';
import { functionArn } from '../../lib/names.ts';
import { API_VERSION } from '../../crds/schema.ts';
import { Reason, READY, type Condition } from '../conditions.ts';
import type { Applier } from '../apply.ts';
import { describeError } from '../errors.ts';
import { involvedOf, type RecordEvent } from '../events.ts';
import type { Informer, Obj } from '../../lib/kubernetes/informer.ts';
import type { ReconcileResult, Reconciler } from '../controller.ts';
import { configMapName, deploymentName } from '../labels.ts';
import { publishReady } from '../status.ts';
import {
  contentHash,
  makeAgentConfig,
  makeTokenSecret,
  makeConfigMap,
  makeDeployment,
  type FunctionObject,
  type WorkerConfig,
} from './builders.ts';
import { desiredReplicas, type DemandWindow } from './scale.ts';

export interface FunctionResource extends Obj {
  spec?: unknown;
  status?: FunctionStatus;
}

export interface FunctionStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  replicas?: number;
  readyReplicas?: number;
  desiredReplicas?: number;
  demand?: number;
  functionArn?: string;
  lastError?: string;
}

export interface FunctionReconcilerDeps {
  kc: k8s.KubeConfig;
  functions: Informer<FunctionResource>;
  deployments: Informer<k8s.V1Deployment & Obj>;
  configMaps: Informer<k8s.V1ConfigMap & Obj>;
  applier: Applier;
  demand: DemandWindow;
  worker: Omit<WorkerConfig, 'replicas' | 'codeHash'>;
  maxReplicas: number;
  record: RecordEvent;
  log: Logger;
}

class NotReady {
  constructor(
    readonly reason: string,
    readonly message: string,
    readonly requeueAfterMs?: number,
  ) {}
}

export function makeFunctionReconciler(deps: FunctionReconcilerDeps): Reconciler {
  const custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
  const core = deps.kc.makeApiClient(k8s.CoreV1Api);

  async function codeHash(fn: FunctionObject): Promise<string> {
    const ref = fn.def.spec.code.configMapRef;
    if (!ref) return contentHash(makeConfigMap(fn));
    try {
      return contentHash(
        await core.readNamespacedConfigMap({ namespace: fn.def.namespace, name: ref.name }),
      );
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) {
        throw new NotReady(Reason.CodeNotFound, `ConfigMap ${ref.name} not found`, 30_000);
      }
      throw err;
    }
  }

  async function reconcileConfigMap(fn: FunctionObject): Promise<void> {
    const key = `${fn.def.namespace}/${configMapName(fn.def.name)}`;
    const desired = makeConfigMap(fn);
    const cached = deps.configMaps.get(key);
    if (!desired) return;
    const outcome = await deps.applier.ensure(desired, fn.uid, cached);
    if (typeof outcome === 'object') throw new NotReady(Reason.ResourceConflict, outcome.conflict);
  }

  /** A child with no phase of its own: create or update it, refuse another owner's. */
  async function reconcileChild(
    desired: k8s.V1ConfigMap | k8s.V1Secret,
    fn: FunctionObject,
    cache: Informer<k8s.V1ConfigMap & Obj> | undefined,
  ): Promise<void> {
    const cached = cache?.get(`${fn.def.namespace}/${desired.metadata!.name}`);
    const outcome = await deps.applier.ensure(desired as k8s.KubernetesObject, fn.uid, cached);
    if (typeof outcome === 'object') throw new NotReady(Reason.ResourceConflict, outcome.conflict);
  }

  /** Code that moved elsewhere (an image, a referenced ConfigMap) leaves our ConfigMap unused. */
  async function removeUnusedConfigMap(fn: FunctionObject): Promise<void> {
    if (makeConfigMap(fn)) return;
    const cached = deps.configMaps.get(`${fn.def.namespace}/${configMapName(fn.def.name)}`);
    if (cached?.metadata?.ownerReferences?.some((o) => o.uid === fn.uid))
      await deps.applier.delete(cached);
  }

  async function reconcileDeployment(fn: FunctionObject, obj: FunctionResource, hash: string) {
    const key = `${fn.def.namespace}/${deploymentName(fn.def.name)}`;
    const cached = deps.deployments.get(key);
    const recent = deps.demand.recent(`${fn.def.namespace}/${fn.def.name}`);
    const current = cached?.spec?.replicas ?? 0;
    const replicas = desiredReplicas({
      recentDemand: recent.demand,
      current,
      provisioned: fn.def.spec.provisionedConcurrentExecutions,
      reserved: fn.def.spec.reservedConcurrentExecutions,
      maxReplicas: deps.maxReplicas,
    });
    const desired = makeDeployment(fn, { ...deps.worker, replicas, codeHash: hash });
    const outcome = await deps.applier.ensure(desired, fn.uid, cached);
    if (typeof outcome === 'object') throw new NotReady(Reason.ResourceConflict, outcome.conflict);
    if (replicas !== current && cached) {
      deps.record(
        involved(obj),
        'Normal',
        'Scaled',
        `workers scaled from ${current} to ${replicas}`,
      );
    }
    return { replicas, recent, existing: cached };
  }

  return {
    kind: 'Function',
    async reconcile(key: string): Promise<ReconcileResult | void> {
      const obj = deps.functions.get(key);
      if (!obj || obj.metadata?.deletionTimestamp) return;
      const generation = obj.metadata?.generation;
      const old = obj.status ?? {};
      const status: FunctionStatus = { ...old, observedGeneration: generation };
      let ready: Omit<Condition, 'lastTransitionTime'>;
      let requeueAfterMs: number | undefined;

      const parsed = parseFunctionManifest(obj);
      if (!parsed.ok) {
        ready = {
          type: READY,
          status: 'False',
          reason: Reason.InvalidSpec,
          message: formatErrors(parsed.errors),
        };
        status.lastError = ready.message;
      } else {
        const fn: FunctionObject = { def: parsed.value, uid: obj.metadata!.uid! };
        status.functionArn = functionArn(deps.worker.region, fn.def.namespace, fn.def.name);
        try {
          const hash = await codeHash(fn);
          await reconcileConfigMap(fn);
          await reconcileChild(makeAgentConfig(fn), fn, deps.configMaps);
          if (deps.worker.workerToken) {
            await reconcileChild(makeTokenSecret(fn, deps.worker.workerToken), fn, undefined);
          }
          const d = await reconcileDeployment(fn, obj, hash);
          // Only once the Deployment no longer mounts it.
          await removeUnusedConfigMap(fn);
          requeueAfterMs = d.recent.expiresInMs;
          status.desiredReplicas = d.replicas;
          if (d.recent.demand !== undefined) status.demand = d.recent.demand;
          status.replicas = d.existing?.status?.replicas ?? 0;
          status.readyReplicas = d.existing?.status?.readyReplicas ?? 0;
          const available = d.existing?.status?.availableReplicas ?? 0;
          const floor = fn.def.spec.provisionedConcurrentExecutions;
          status.lastError = '';
          if (available >= floor) {
            ready = {
              type: READY,
              status: 'True',
              reason: d.replicas === 0 ? Reason.ScaledToZero : Reason.WorkersAvailable,
              message:
                d.replicas === 0
                  ? 'no workers while idle; the first invocation starts one'
                  : `${available} of ${d.replicas} workers available`,
            };
          } else {
            ready = {
              type: READY,
              status: 'False',
              reason: Reason.WorkersStarting,
              message: `${available} of ${floor} provisioned workers available`,
            };
          }
        } catch (err) {
          if (!(err instanceof NotReady)) {
            // Transient: record it, then let the controller retry with backoff.
            status.lastError = describeError(err);
            await publish(obj, old, status, {
              type: READY,
              status: 'False',
              reason: Reason.ReconcileError,
              message: describeError(err),
            }).catch(() => undefined);
            throw err;
          }
          ready = { type: READY, status: 'False', reason: err.reason, message: err.message };
          status.lastError = err.message;
          requeueAfterMs = err.requeueAfterMs;
        }
      }
      await publish(obj, old, status, ready);
      return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
    },
  };

  function publish(
    obj: FunctionResource,
    old: FunctionStatus,
    status: FunctionStatus,
    ready: Omit<Condition, 'lastTransitionTime'>,
  ): Promise<void> {
    return publishReady({
      custom,
      plural: 'functions',
      obj,
      old,
      status,
      ready,
      record: deps.record,
      involved: involved(obj),
    });
  }
}

const involved = (obj: Obj) => involvedOf('Function', API_VERSION, obj);
