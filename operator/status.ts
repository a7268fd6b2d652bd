// Writes a custom resource's status from a copy, only when it changed, with the
// resourceVersion read (a stale cache gets a 409 and the reconcile retries).
import type * as k8s from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { GROUP, VERSION } from '../crds/schema.ts';
import { READY, setCondition, type Condition } from './conditions.ts';
import type { Involved, RecordEvent } from './events.ts';
import type { Obj } from '../lib/kubernetes/informer.ts';

export async function writeStatus(
  custom: k8s.CustomObjectsApi,
  plural: string,
  obj: Obj & { status?: unknown },
  status: Record<string, unknown>,
): Promise<boolean> {
  if (isDeepStrictEqual(obj.status ?? {}, status)) return false;
  await custom.replaceNamespacedCustomObjectStatus({
    group: GROUP,
    version: VERSION,
    namespace: obj.metadata!.namespace!,
    plural,
    name: obj.metadata!.name!,
    body: { ...obj, status },
  });
  return true;
}

/**
 * Sets the Ready condition on `status`, writes it when it changed, and records a
 * Kubernetes Event when Ready's status or reason moved. `old` is the status read.
 */
export async function publishReady(opts: {
  custom: k8s.CustomObjectsApi;
  plural: string;
  obj: Obj & { status?: unknown };
  old: { conditions?: Condition[] };
  status: { conditions?: Condition[] };
  ready: Omit<Condition, 'lastTransitionTime'>;
  record: RecordEvent;
  involved: Involved;
}): Promise<void> {
  const { obj, old, status, ready } = opts;
  status.conditions = setCondition(old.conditions, {
    ...ready,
    observedGeneration: obj.metadata?.generation,
  });
  const before = old.conditions?.find((c) => c.type === READY);
  if (await writeStatus(opts.custom, opts.plural, obj, status as Record<string, unknown>)) {
    if (before?.status !== ready.status || before?.reason !== ready.reason) {
      opts.record(
        opts.involved,
        ready.status === 'False' ? 'Warning' : 'Normal',
        ready.reason,
        ready.message,
      );
    }
  }
}
