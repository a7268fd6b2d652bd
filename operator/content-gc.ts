// The content store's collector (lib/content-ref.ts): deletes the chunk ConfigMaps no
// Function, FunctionVersion or LayerVersion of their namespace names. A writer stores
// the chunks before the resource that names them, so a chunk written (or reused, which
// renews its written-at) within the grace period is spared; and the delete carries the
// resourceVersion the collector saw, so a chunk reused since is not deleted (409).
import * as k8s from '@kubernetes/client-node';
import { SHA256_ANNOTATION, WRITTEN_ANNOTATION, contentRefsOf } from '../lib/content-ref.ts';
import type { Informer, Obj } from '../lib/kubernetes/informer.ts';
import type { Logger } from '../lib/log.ts';

export const CONTENT_GRACE_MS = 60 * 60 * 1000;

export interface ContentCollector {
  chunks: Informer<Obj>;
  /** Functions, FunctionVersions and LayerVersions: whatever may name a zip. */
  referrers: Informer<Obj>[];
  core: k8s.CoreV1Api;
  now: () => Date;
  graceMs?: number;
  log: Logger;
}

/** One pass; resolves to the names of the chunks deleted. */
export async function collectContent(c: ContentCollector): Promise<string[]> {
  const named = new Set<string>();
  for (const informer of c.referrers) {
    for (const o of informer.list()) {
      for (const sha of contentRefsOf(o)) named.add(`${o.metadata?.namespace}/${sha}`);
    }
  }
  const grace = c.graceMs ?? CONTENT_GRACE_MS;
  const deleted: string[] = [];
  for (const chunk of c.chunks.list()) {
    const meta = chunk.metadata!;
    const sha = meta.annotations?.[SHA256_ANNOTATION];
    if (!sha || named.has(`${meta.namespace}/${sha}`)) continue;
    const written = Date.parse(
      meta.annotations?.[WRITTEN_ANNOTATION] ?? String(meta.creationTimestamp ?? ''),
    );
    if (!(c.now().getTime() - written > grace)) continue;
    try {
      await c.core.deleteNamespacedConfigMap({
        name: meta.name!,
        namespace: meta.namespace!,
        body: { preconditions: { resourceVersion: meta.resourceVersion! } },
      });
      deleted.push(`${meta.namespace}/${meta.name}`);
    } catch (err) {
      // 409: reused since it was seen; 404: gone already.
      if (!(err instanceof k8s.ApiException && (err.code === 409 || err.code === 404))) throw err;
    }
  }
  if (deleted.length > 0) c.log.info('content chunks collected', { count: deleted.length });
  return deleted;
}
