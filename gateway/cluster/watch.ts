// The gateway's read-only view of Function resources in cluster mode: a watch that
// turns each custom object into a FunctionDefinition with parseFunctionManifest (the
// same validation `selfless dev` applies to files) and reports puts and removals.
// An object that fails validation is reported as removed, with its errors, so the
// gateway never serves a definition the operator refuses.
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../crds/schema.ts';
import { parseFunctionManifest, type FunctionDefinition } from '../../lib/function.ts';
import { parseFunctionVersion } from '../../lib/function-version.ts';
import { formatErrors } from '../../lib/parse.ts';
import { makeLogger, type Logger } from '../../lib/log.ts';
import { Informer, keyOf, type Obj } from '../../lib/kubernetes/informer.ts';

export type FunctionChange =
  | { type: 'put'; fn: FunctionDefinition }
  | { type: 'remove'; namespace: string; name: string; error?: string }
  /** A FunctionVersion: `fn.version` set. */
  | { type: 'putVersion'; fn: FunctionDefinition }
  | { type: 'removeVersion'; namespace: string; name: string; version: string };

export interface FunctionWatch {
  /** Resolves once every existing Function has been reported. */
  ready: Promise<void>;
  /** The valid definitions known now. */
  list(): FunctionDefinition[];
  stop(): void;
}

export function watchFunctions(
  kubeconfig: string | k8s.KubeConfig,
  onChange: (change: FunctionChange) => void,
  opts: { namespace?: string; log?: Logger } = {},
): FunctionWatch {
  const kc = typeof kubeconfig === 'string' ? fromFile(kubeconfig) : kubeconfig;
  const log = opts.log ?? makeLogger('gateway-cluster');
  const ns = opts.namespace ? `/namespaces/${opts.namespace}` : '';
  const informer = new Informer<Obj>(kc, { path: `/apis/${GROUP}/${VERSION}${ns}/functions`, log });
  const valid = new Map<string, FunctionDefinition>();
  informer.on((obj, type) => {
    const key = keyOf(obj);
    const [namespace, name] = [obj.metadata!.namespace!, obj.metadata!.name!];
    if (type === 'deleted') {
      if (valid.delete(key)) onChange({ type: 'remove', namespace, name });
      return;
    }
    const parsed = parseFunctionManifest(obj);
    if (parsed.ok) {
      valid.set(key, parsed.value);
      onChange({ type: 'put', fn: parsed.value });
    } else {
      const error = formatErrors(parsed.errors);
      log.warn('function not served: invalid spec', { namespace, name, error });
      if (valid.delete(key)) onChange({ type: 'remove', namespace, name, error });
    }
  });
  const versions = new Informer<Obj>(kc, {
    path: `/apis/${GROUP}/${VERSION}${ns}/functionversions`,
    log,
  });
  const published = new Map<string, FunctionDefinition>();
  versions.on((obj, type) => {
    const key = keyOf(obj);
    const known = published.get(key);
    if (type === 'deleted') {
      if (known && published.delete(key)) {
        onChange({
          type: 'removeVersion',
          namespace: known.namespace,
          name: known.name,
          version: known.version!,
        });
      }
      return;
    }
    // Immutable (the CRD says so): the first valid sight of a version is all of it.
    if (known) return;
    const parsed = parseFunctionVersion(obj);
    if (parsed.ok) {
      published.set(key, parsed.value.def);
      onChange({ type: 'putVersion', fn: parsed.value.def });
    } else {
      log.warn('function version not served: invalid spec', {
        namespace: obj.metadata!.namespace!,
        name: obj.metadata!.name!,
        error: formatErrors(parsed.errors),
      });
    }
  });
  informer.start();
  versions.start();
  return {
    ready: Promise.all([informer.hasSynced(), versions.hasSynced()]).then(() => undefined),
    list: () => [...valid.values()],
    stop: () => {
      informer.stop();
      versions.stop();
    },
  };
}

function fromFile(path: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}
