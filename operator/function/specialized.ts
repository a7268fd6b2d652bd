// Pool pods a gateway made workers of a Function (lib/warm-pool.ts). Adopting one
// relabels it as the function's worker (so the function's NetworkPolicies select it
// and the pool's ReplicaSet, no longer matching it, starts a replacement at once) and
// makes the Function its owner (garbage-collected with it). A specialized pod lives
// only until one of the function's own workers serves (the gateways see it ask
// for work), the function scales to zero, or
// its configuration changes: then it is deleted, finishing its call in flight.
import type * as k8s from '@kubernetes/client-node';
import { POOL_LABEL, SPECIALIZED_LABEL } from '../../lib/warm-pool.ts';
import { FUNCTION_LABEL } from '../labels.ts';
import { labels, ownerReference, type FunctionObject } from './function-object.ts';

export const CONFIG_HASH = 'selfless.dev/config-hash';

/** The merge patch that adopts a pool pod; undefined when the pod is not one of this function's pool. */
export function adoptionPatch(
  pod: k8s.V1Pod,
  fn: FunctionObject,
  configHash: string,
): Record<string, unknown> | undefined {
  const meta = pod.metadata;
  if (!meta || meta.deletionTimestamp || meta.namespace !== fn.def.namespace) return undefined;
  if (meta.labels?.[POOL_LABEL] !== fn.def.spec.runtime) return undefined;
  return {
    metadata: {
      labels: { ...labels(fn.def.name), [SPECIALIZED_LABEL]: 'true', [POOL_LABEL]: null },
      annotations: { [CONFIG_HASH]: configHash },
      // Replaces the ReplicaSet's reference: the pod left the pool.
      ownerReferences: [ownerReference(fn)],
    },
  };
}

/** Why a specialized pod of `fn` should go now, or undefined while it is still needed. */
export function retireReason(
  pod: k8s.V1Pod,
  configHash: string,
  workers: { desired: number; /** Own workers serving. */ ready: number },
): string | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  if (pod.metadata?.annotations?.[CONFIG_HASH] !== configHash)
    return 'the function changed since it was specialized';
  if (workers.desired === 0) return 'the function scaled to zero';
  if (workers.ready > 0) return "the function's own workers serve";
  return undefined;
}

/** Whether `pod` was taken from a pool and adopted by `fn`. */
export function isSpecializedFor(pod: k8s.V1Pod, fn: FunctionObject): boolean {
  const meta = pod.metadata;
  return (
    meta?.namespace === fn.def.namespace &&
    meta.labels?.[FUNCTION_LABEL] === fn.def.name &&
    meta.labels[SPECIALIZED_LABEL] === 'true' &&
    (meta.ownerReferences ?? []).some((o) => o.uid === fn.uid)
  );
}
