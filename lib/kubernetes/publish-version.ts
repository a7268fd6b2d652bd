// Publishing a version in a cluster, for both writers of FunctionVersions: the gateway's
// PublishVersion and the operator's publish: true. Lambda never gives a number twice,
// even after the version is deleted, so the Function counts them in the annotation
// selfless.dev/last-version. A publish takes the next number there first (above the
// count and the newest version the writer knows; a merge patch conditional on the
// resourceVersion it read, so each number goes to one writer, and a conflict re-reads),
// then creates the FunctionVersion <function>-<number>, owned by the Function so it goes
// with it. A create refused as existing (a number taken without the count: a version
// made by hand, or before the count was kept) moves on to the next. The merge patch is
// an update, not an apply: the API's server-side applies, which never name the
// annotation, leave it be.
import * as k8s from '@kubernetes/client-node';
import { API_VERSION } from '../../crds/schema.ts';
import type { FunctionDefinition } from '../function.ts';
import {
  FUNCTION_VERSION_KIND,
  LAST_VERSION_ANNOTATION,
  parseFunctionVersion,
  sameSnapshot,
  versionObjectName,
  versionResourceSpec,
} from '../function-version.ts';

/** How many numbers a publish tries when other writers publish at the same time. */
export const PUBLISH_ATTEMPTS = 5;

/** The FunctionVersion resource of a published version, owned by its Function. */
export function versionResource(
  fn: FunctionDefinition & { version: string },
  description: string,
  owner: { uid: string },
): k8s.KubernetesObject {
  return {
    apiVersion: API_VERSION,
    kind: FUNCTION_VERSION_KIND,
    metadata: {
      name: versionObjectName(fn.name, fn.version),
      namespace: fn.namespace,
      ownerReferences: [
        { apiVersion: API_VERSION, kind: 'Function', name: fn.name, uid: owner.uid },
      ],
    },
    spec: versionResourceSpec(fn, description),
  } as k8s.KubernetesObject;
}

/** false for a 409 (the write lost a race, or the object exists); any other failure goes on. */
function notOnConflict(err: unknown): false {
  if (err instanceof k8s.ApiException && err.code === 409) return false;
  throw err;
}

function undefinedOnNotFound(err: unknown): undefined {
  if (err instanceof k8s.ApiException && err.code === 404) return undefined;
  throw err;
}

export interface PublishOptions {
  /** The newest number the writer knows of: the next one is above it and the count. */
  after: number;
  fieldManager: string;
  /**
   * A writer that publishes from a cache (the operator) may not have seen the version
   * it published last: when the count is above `after` and its version exists already
   * as this snapshot, that one stands and nothing is published.
   */
  keepCounted?: boolean;
}

export interface Published {
  version: string;
  /** false when keepCounted found the counted version to be this snapshot already. */
  created: boolean;
}

/**
 * Publishes `snapshot` (a Function's $LATEST) under the next number; undefined when
 * every one of PUBLISH_ATTEMPTS numbers was taken by another writer first.
 */
export async function publishVersion(
  objects: k8s.KubernetesObjectApi,
  snapshot: FunctionDefinition,
  description: string,
  opts: PublishOptions,
): Promise<Published | undefined> {
  const ref = { name: snapshot.name, namespace: snapshot.namespace };
  let floor = opts.after;
  for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
    const current = await objects.read({
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: ref,
    });
    const annotated = Number(current.metadata?.annotations?.[LAST_VERSION_ANNOTATION] ?? 0);
    const counted = Number.isSafeInteger(annotated) ? annotated : 0;
    if (opts.keepCounted && counted > floor) {
      const existing = await objects
        .read({
          apiVersion: API_VERSION,
          kind: FUNCTION_VERSION_KIND,
          metadata: { ...ref, name: versionObjectName(snapshot.name, String(counted)) },
        })
        .catch(undefinedOnNotFound);
      const parsed = existing && parseFunctionVersion(existing);
      if (parsed?.ok && sameSnapshot(snapshot.spec, parsed.value.def.spec)) {
        return { version: String(counted), created: false };
      }
    }
    const fn = { ...snapshot, version: String(Math.max(floor, counted) + 1) };
    // The count is taken before the version is made, with the resourceVersion read as
    // the precondition: a conflict means another writer changed the Function in between
    // (maybe taking this number).
    const counter = {
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: {
        ...ref,
        resourceVersion: current.metadata!.resourceVersion!,
        annotations: { [LAST_VERSION_ANNOTATION]: fn.version },
      },
    };
    const took = await objects
      .patch(
        counter,
        undefined,
        undefined,
        opts.fieldManager,
        undefined,
        k8s.PatchStrategy.MergePatch,
      )
      .then(() => true, notOnConflict);
    if (!took) continue;
    const made = await objects
      .create(versionResource(fn, description, { uid: current.metadata!.uid! }))
      .then(() => true, notOnConflict);
    if (!made) {
      floor = Number(fn.version);
      continue;
    }
    return { version: fn.version, created: true };
  }
  return undefined;
}
