// Writes a custom resource's status from a copy, only when it changed, with the
// resourceVersion read (a stale cache gets a 409 and the reconcile retries).
import type * as k8s from '@kubernetes/client-node';
import { isDeepStrictEqual } from 'node:util';
import { GROUP, VERSION } from '../crds/schema.ts';
import type { Obj } from './informer.ts';

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
