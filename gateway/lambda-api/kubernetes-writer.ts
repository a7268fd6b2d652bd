// The Writer of a gateway in a cluster: the deployment API writes Function resources,
// so `kubectl get fn` and the API see one set of functions (the gateway serves them
// back through its watch, as it serves any Function).
//
// Writes are server-side apply with the field manager `selfless-lambda-api`, forced:
// an API call is an explicit change, so it takes the fields it sets (runtime, handler,
// code, memorySize, timeout, ephemeralStorage, environment, layers) from whoever held them. A
// later `kubectl apply --server-side` of those fields conflicts unless it forces them
// back (--force-conflicts); a client-side `kubectl apply` simply overwrites them. Fields
// the API never sets (reservedConcurrentExecutions, triggers, functionEventInvokeConfig...)
// stay kubectl's. Aliases are spec.aliases, a list keyed by name, which the API applies
// whole as it knows it. PublishVersion creates a FunctionVersion resource owned by the
// Function (so it goes with it), named <function>-<number>: creation is the lock that
// gives each number to one replica. The zip is kept in the resource itself (spec.code.zipFile), which the
// API server's request limit keeps to about 1 MB: larger code is refused, naming it.
import * as k8s from '@kubernetes/client-node';
import { API_VERSION } from '../../crds/schema.ts';
import { keyOf, type FunctionDefinition } from '../../lib/function.ts';
import { lambdaErrors } from '../errors.ts';
import type { FunctionRegistry } from '../registry.ts';
import type { Writer } from './catalog.ts';
import { canonical } from '../../lib/canonical.ts';
import { aliasResource } from '../../lib/function-alias.ts';
import {
  FUNCTION_VERSION_KIND,
  versionObjectName,
  versionResourceSpec,
} from '../../lib/function-version.ts';

export const FIELD_MANAGER = 'selfless-lambda-api';
/** Base64 of a zip the resource can hold below the API server's 1.5 MB request limit. */
export const RESOURCE_ZIP_LIMIT = 1024 * 1024;

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
  opts: { servedTimeoutMs?: number } = {},
): Writer {
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const timeoutMs = opts.servedTimeoutMs ?? 30_000;
  return {
    shared: {
      publish: async (fn, description) => {
        const current = await objects.read({
          apiVersion: API_VERSION,
          kind: 'Function',
          metadata: { name: fn.name, namespace: fn.namespace },
        });
        try {
          await objects.create(versionResource(fn, description, { uid: current.metadata!.uid! }));
        } catch (err) {
          if (err instanceof k8s.ApiException && err.code === 409) return false;
          throw err;
        }
        await served(
          registry,
          keyOf(fn),
          () => registry.versionsOf(keyOf(fn)).some((v) => v.version === fn.version),
          timeoutMs,
        );
        return true;
      },
      removeVersion: async (fn) => {
        await objects.delete(versionResource(fn, '', { uid: '' })).catch((err: unknown) => {
          if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
        });
      },
    },
    put: async (fn) => {
      const resource = functionResource(fn);
      const current = registry.get(keyOf(fn));
      if (current && canonical(functionResource(current)) === canonical(resource)) return;
      if ((fn.spec.code.zipFile?.length ?? 0) > RESOURCE_ZIP_LIMIT) {
        throw lambdaErrors.invalidParameter(
          `In a cluster the zip is stored in the Function resource, which holds at most ${RESOURCE_ZIP_LIMIT} bytes of base64: this one has ${fn.spec.code.zipFile!.length}. Use an image (ImageUri) for larger code.`,
        );
      }
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
