// PutFunctionConcurrency and DeleteFunctionConcurrency in a cluster: the reservation is
// the Function resource's spec.reservedConcurrentExecutions, so every replica's quota
// sees it through its watch (kept in one replica's registry, it held only there, and
// the next watch event of the function took it back). Applied server-side under a
// field manager of its own: the deployment API's apply (kubernetes-writer.ts) leaves
// the field out, and would otherwise release it on its next write. Forced, as any API
// call is an explicit change: it takes the field from a manifest that set it.
import * as k8s from '@kubernetes/client-node';
import { API_VERSION } from '../../crds/schema.ts';
import { keyOf, type FunctionDefinition } from '../../lib/function.ts';
import { lambdaErrors } from '../errors.ts';
import type { FunctionRegistry } from '../registry.ts';

export const RESERVATION_FIELD_MANAGER = 'selfless-lambda-api-concurrency';

export type SetReserved = (fn: FunctionDefinition, reserved: number | undefined) => Promise<void>;

export function kubernetesReservations(
  kc: k8s.KubeConfig,
  registry: FunctionRegistry,
  opts: { servedTimeoutMs?: number } = {},
): SetReserved {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const timeoutMs = opts.servedTimeoutMs ?? 30_000;
  return async (fn, reserved) => {
    const target = {
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: { name: fn.name, namespace: fn.namespace },
    };
    // Deleting takes the field from whoever holds it (an apply would only give up this
    // manager's share of it): a merge patch's null removes it.
    await (reserved === undefined
      ? objects.patch(
          { ...target, spec: { reservedConcurrentExecutions: null } } as k8s.KubernetesObject,
          undefined,
          undefined,
          RESERVATION_FIELD_MANAGER,
          undefined,
          k8s.PatchStrategy.MergePatch,
        )
      : objects.patch(
          { ...target, spec: { reservedConcurrentExecutions: reserved } } as k8s.KubernetesObject,
          undefined,
          undefined,
          RESERVATION_FIELD_MANAGER,
          true,
          k8s.PatchStrategy.ServerSideApply,
        ));
    // Answered once this replica serves it, so a Get right after sees it.
    await served(registry, keyOf(fn), reserved, timeoutMs);
  };
}

function served(
  registry: FunctionRegistry,
  key: string,
  reserved: number | undefined,
  timeoutMs: number,
): Promise<void> {
  const done = () => registry.get(key)?.spec.reservedConcurrentExecutions === reserved;
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!done()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(
        lambdaErrors.service(
          `The Function resource ${key} was written but not served within ${timeoutMs / 1000} s.`,
        ),
      );
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      registry.off('changed', check);
    };
    registry.on('changed', check);
  });
}
