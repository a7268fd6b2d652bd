// Applies one child object the level-based way: get -> create if missing -> refuse
// if another owner has it -> update only if what we want changed. "Changed" is a
// hash of the desired object kept in an annotation, so an unchanged child costs no
// write; writes are server-side apply with the operator as field manager.
import * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { FIELD_MANAGER } from './labels.ts';

export const APPLIED_HASH = 'selfless.dev/applied-hash';

export type ApplyOutcome = 'created' | 'updated' | 'unchanged' | { conflict: string };

export function hashOf(obj: unknown): string {
  return createHash('sha256').update(JSON.stringify(obj)).digest('hex').slice(0, 16);
}

export class Applier {
  private readonly objects: k8s.KubernetesObjectApi;

  constructor(kc: k8s.KubeConfig) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  }

  /**
   * `cached` is what the informer holds under this name (undefined: not in the
   * cache, which only holds objects carrying our label, so we read the server).
   * The object is ours when one of its owner references has one of `ownerUid`.
   */
  async ensure(
    desired: k8s.KubernetesObject,
    ownerUid: string | string[],
    cached: k8s.KubernetesObject | undefined,
  ): Promise<ApplyOutcome> {
    const owners = typeof ownerUid === 'string' ? [ownerUid] : ownerUid;
    const hash = hashOf(desired);
    let existing = cached;
    if (!existing) {
      existing = await this.objects
        .read(desired as k8s.KubernetesObject & { metadata: { name: string } })
        .catch((err: unknown) => {
          if (err instanceof k8s.ApiException && err.code === 404) return undefined;
          throw err;
        });
    }
    if (existing && !existing.metadata?.ownerReferences?.some((o) => owners.includes(o.uid))) {
      return {
        conflict: `${desired.kind} ${desired.metadata?.name} exists and belongs to someone else`,
      };
    }
    if (existing?.metadata?.annotations?.[APPLIED_HASH] === hash) return 'unchanged';
    const body = {
      ...desired,
      metadata: {
        ...desired.metadata,
        annotations: { ...desired.metadata?.annotations, [APPLIED_HASH]: hash },
      },
    };
    await this.objects.patch(
      body,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
    return existing ? 'updated' : 'created';
  }

  async delete(obj: k8s.KubernetesObject): Promise<void> {
    await this.objects.delete(obj).catch((err: unknown) => {
      if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
    });
  }
}
