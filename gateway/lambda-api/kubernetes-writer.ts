// The Writer of a gateway in a cluster: the deployment API writes Function resources,
// so `kubectl get fn` and the API see one set of functions (the gateway serves them
// back through its watch, as it serves any Function).
//
// Writes are server-side apply with the field manager `selfless-lambda-api`, forced:
// an API call is an explicit change, so it takes the fields it sets (runtime, handler,
// code, memorySize, timeout, ephemeralStorage, environment, layers) from whoever held them. A
// later `kubectl apply --server-side` of those fields conflicts unless it forces them
// back (--force-conflicts); a client-side `kubectl apply` simply overwrites them. Fields
// this apply never sets (triggers, functionEventInvokeConfig...) stay kubectl's;
// reservedConcurrentExecutions is Put/DeleteFunctionConcurrency's, under a field manager
// of its own (kubernetes-reservations.ts), so these applies keep it. Aliases are
// spec.aliases, a list keyed by name, which the API applies whole as it knows it.
// PublishVersion creates a FunctionVersion resource owned by the Function (so it goes
// with it), named <function>-<number>. Lambda never gives a number twice, so the
// Function counts them in the annotation selfless.dev/last-version: a publish takes
// the next number there first (a merge patch conditional on the resourceVersion it
// read, so each number goes to one replica), then creates the version; a create
// refused as existing (a number the operator's publish: true took, uncounted) moves on
// to the next. A zip is kept in the resource itself (spec.code.zipFile)
// up to about 1 MB of base64; a larger one goes to the content store first (chunk
// ConfigMaps in the function's namespace, lib/kubernetes/content.ts) and the resource
// names it (spec.code.contentRef), so the watch brings back what the catalog recorded.
import * as k8s from '@kubernetes/client-node';
import { API_VERSION } from '../../crds/schema.ts';
import { keyOf, type FunctionDefinition } from '../../lib/function.ts';
import { lambdaErrors } from '../errors.ts';
import type { FunctionRegistry } from '../registry.ts';
import type { Writer } from './catalog.ts';
import { canonical } from '../../lib/canonical.ts';
import { INLINE_ZIP_LIMIT } from '../../lib/content-ref.ts';
import { putContent } from '../../lib/kubernetes/content.ts';
import { readZip } from '../../lib/zip.ts';
import { aliasResource } from '../../lib/function-alias.ts';
import {
  FUNCTION_VERSION_KIND,
  LAST_VERSION_ANNOTATION,
  versionObjectName,
  versionResourceSpec,
} from '../../lib/function-version.ts';

export const FIELD_MANAGER = 'selfless-lambda-api';
/** How many numbers PublishVersion tries when other replicas publish at the same time. */
const PUBLISH_ATTEMPTS = 5;

/** The Function resource the API owns the fields of. */
export function functionResource(fn: FunctionDefinition): k8s.KubernetesObject {
  const { spec } = fn;
  return {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: fn.name, namespace: fn.namespace },
    spec: {
      runtime: spec.runtime,
      handler: spec.handler,
      code: spec.code,
      memorySize: spec.memorySize,
      timeout: spec.timeout,
      ephemeralStorage: spec.ephemeralStorage,
      environment: spec.environment,
      ...(spec.perExecutionEnvironmentMaxConcurrency !== undefined && {
        perExecutionEnvironmentMaxConcurrency: spec.perExecutionEnvironmentMaxConcurrency,
      }),
      ...(spec.aliases && { aliases: spec.aliases.map(aliasResource) }),
      ...(spec.layers && { layers: spec.layers }),
      ...(spec.snapStart && { snapStart: spec.snapStart }),
      ...(spec.provisionedConcurrencyConfigs && {
        provisionedConcurrencyConfigs: spec.provisionedConcurrencyConfigs,
      }),
    },
  } as k8s.KubernetesObject;
}

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

/** false for a 409 (the write lost a race); any other failure goes on. */
function notOnConflict(err: unknown): false {
  if (err instanceof k8s.ApiException && err.code === 409) return false;
  throw err;
}

/** Resolves once the registry (fed by the watch) shows what was written. */
function served(
  registry: FunctionRegistry,
  key: string,
  done: (fn: FunctionDefinition | undefined) => boolean,
  timeoutMs: number,
): Promise<void> {
  if (done(registry.get(key))) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!done(registry.get(key))) return;
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
      registry.off('removed', check);
    };
    registry.on('changed', check);
    registry.on('removed', check);
  });
}

export function kubernetesWriter(
  kc: k8s.KubeConfig,
  registry: FunctionRegistry,
  opts: { servedTimeoutMs?: number; now?: () => Date } = {},
): Writer {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const timeoutMs = opts.servedTimeoutMs ?? 30_000;
  const now = opts.now ?? (() => new Date());
  const stored = async (fn: FunctionDefinition): Promise<FunctionDefinition> => {
    const { zipFile } = fn.spec.code;
    if (zipFile === undefined || zipFile.length <= INLINE_ZIP_LIMIT) return fn;
    const zip = Buffer.from(zipFile, 'base64');
    const unzipped = readZip(zip).reduce((n, e) => n + e.size, 0);
    const contentRef = await putContent(core, fn.namespace, zip, now(), unzipped);
    return { ...fn, spec: { ...fn.spec, code: { contentRef } } };
  };
  return {
    stored,
    shared: {
      publish: async (snapshot, description, after) => {
        const ref = { name: snapshot.name, namespace: snapshot.namespace };
        let floor = after;
        for (let attempt = 0; attempt < PUBLISH_ATTEMPTS; attempt++) {
          const current = await objects.read({
            apiVersion: API_VERSION,
            kind: 'Function',
            metadata: ref,
          });
          const counted = Number(current.metadata?.annotations?.[LAST_VERSION_ANNOTATION] ?? 0);
          const fn = {
            ...snapshot,
            version: String(Math.max(floor, Number.isSafeInteger(counted) ? counted : 0) + 1),
          };
          // The count is taken before the version is made, with the resourceVersion read
          // as the precondition: a conflict means another writer changed the Function in
          // between (maybe taking this number). A merge patch is an update, not an apply:
          // the API's applies, which never name the annotation, leave it be.
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
              FIELD_MANAGER,
              undefined,
              k8s.PatchStrategy.MergePatch,
            )
            .then(() => true, notOnConflict);
          if (!took) continue;
          const made = await objects
            .create(versionResource(fn, description, { uid: current.metadata!.uid! }))
            .then(() => true, notOnConflict);
          // The number was taken without the count (the operator's publish: true).
          if (!made) {
            floor = Number(fn.version);
            continue;
          }
          await served(
            registry,
            keyOf(fn),
            () => registry.versionsOf(keyOf(fn)).some((v) => v.version === fn.version),
            timeoutMs,
          );
          return fn.version;
        }
        throw lambdaErrors.service(`No version number was free after ${PUBLISH_ATTEMPTS} tries.`);
      },
      removeVersion: async (fn) => {
        await objects.delete(versionResource(fn, '', { uid: '' })).catch((err: unknown) => {
          if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
        });
      },
    },
    put: async (given) => {
      const fn = await stored(given);
      const resource = functionResource(fn);
      const current = registry.get(keyOf(fn));
      if (current && canonical(functionResource(current)) === canonical(resource)) return;
      await objects.patch(
        resource,
        undefined,
        undefined,
        FIELD_MANAGER,
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
      const wanted = canonical(functionResource(fn));
      await served(
        registry,
        keyOf(fn),
        (got) => got !== undefined && canonical(functionResource(got)) === wanted,
        timeoutMs,
      );
    },
    remove: async (fn) => {
      await objects.delete(functionResource(fn)).catch((err: unknown) => {
        if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
      });
      await served(registry, keyOf(fn), (got) => got === undefined, timeoutMs);
    },
  };
}
