// The Writer of a gateway in a cluster: the deployment API writes Function resources,
// so `kubectl get fn` and the API see one set of functions (the gateway serves them
// back through its watch, as it serves any Function).
//
// Writes are server-side apply with the field manager `selfless-lambda-api`, forced:
// an API call is an explicit change, so it takes the fields it sets (runtime, handler,
// code, memorySize, timeout, ephemeralStorage, environment, layers, functionUrl) from
// whoever held them. A later `kubectl apply --server-side` of those fields conflicts
// unless it forces them back (--force-conflicts); a client-side `kubectl apply` simply
// overwrites them. Fields
// this apply never sets (triggers, functionEventInvokeConfig...) stay kubectl's;
// reservedConcurrentExecutions is Put/DeleteFunctionConcurrency's, under a field manager
// of its own (kubernetes-reservations.ts), so these applies keep it. Aliases are
// spec.aliases, a list keyed by name, which the API applies whole as it knows it.
// PublishVersion creates a FunctionVersion resource owned by the Function (so it goes
// with it), named <function>-<number>, under the next number of the count the Function
// keeps in an annotation (lib/kubernetes/publish-version.ts, shared with the operator's
// publish: true). A zip is kept in the resource itself (spec.code.zipFile)
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
  PUBLISH_ATTEMPTS,
  publishVersion,
  versionResource,
} from '../../lib/kubernetes/publish-version.ts';

export const FIELD_MANAGER = 'selfless-lambda-api';

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
      // CreateFunctionUrlConfig writes the function's own URL here: every replica
      // serves a URL from the resource its watch brings back.
      ...(spec.functionUrl && { functionUrl: spec.functionUrl }),
    },
  } as k8s.KubernetesObject;
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
        const published = await publishVersion(objects, snapshot, description, {
          after,
          fieldManager: FIELD_MANAGER,
        });
        if (!published) {
          throw lambdaErrors.service(`No version number was free after ${PUBLISH_ATTEMPTS} tries.`);
        }
        const { version } = published;
        await served(
          registry,
          keyOf(snapshot),
          () => registry.versionsOf(keyOf(snapshot)).some((v) => v.version === version),
          timeoutMs,
        );
        return version;
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
