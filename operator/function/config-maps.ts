// The ConfigMaps beside a Function's workers: its code (inline files or the zip), and
// the manifest its agents read. Deterministic content, so a retried reconcile applies
// the same objects and the content hash changes exactly when the content does.
import type * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import { API_VERSION } from '../../crds/schema.ts';
import { configMapName, configName } from '../labels.ts';
import { MANIFEST, TASK_ROOT, childMeta, type FunctionObject } from './function-object.ts';

/** ConfigMap keys allow [-._a-zA-Z0-9]; file paths with '/' get a hashed key and an items entry. */
export function configMapKey(file: string): string {
  return /^[-._a-zA-Z0-9]+$/.test(file)
    ? file
    : `f-${createHash('sha256').update(file).digest('hex').slice(0, 16)}`;
}

/** The ConfigMap holding inline or zip code; undefined when the code lives elsewhere. */
export function makeConfigMap(fn: FunctionObject): k8s.V1ConfigMap | undefined {
  const { code } = fn.def.spec;
  if (code.inline) {
    const data: Record<string, string> = {};
    for (const [file, content] of Object.entries(code.inline)) data[configMapKey(file)] = content;
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: childMeta(fn, configMapName(fn.def)),
      data,
      immutable: false,
    };
  }
  if (code.zipFile) {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: childMeta(fn, configMapName(fn.def)),
      binaryData: { 'code.zip': code.zipFile.replace(/\s+/g, '') },
    };
  }
  return undefined;
}

/**
 * The agent's view of the function (runtime, handler, limits, variables) as the
 * Function manifest `selfless agent --manifest` reads; the code is the directory
 * the code volume is mounted on. Only what an environment runs with: a field here
 * rolls the workers (its hash is on the pod template), so the settings the gateway
 * and the operator act on alone (concurrency, triggers, the URL, aliases, async
 * settings, recursion, publish) stay out, and changing one of them keeps the
 * environments, and the calls they are answering, as Lambda does.
 */
export function makeAgentConfig(fn: FunctionObject): k8s.V1ConfigMap {
  const {
    code: _code,
    functionUrl: _url,
    aliases: _aliases,
    reservedConcurrentExecutions: _reserved,
    provisionedConcurrentExecutions: _provisioned,
    provisionedConcurrencyConfigs: _provisionedConfigs,
    functionEventInvokeConfig: _async,
    recursiveLoop: _recursion,
    triggers: _triggers,
    publish: _publish,
    ...spec
  } = fn.def.spec;
  const manifest = {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: fn.def.name, namespace: fn.def.namespace },
    spec: { ...spec, code: { directory: TASK_ROOT } },
  };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: childMeta(fn, configName(fn.def)),
    data: { [MANIFEST]: stringify(manifest) },
  };
}

/** Pods read a ConfigMap once at start: its hash on the pod template rolls them. */
export function contentHash(
  cm: { data?: Record<string, string>; binaryData?: Record<string, string> } | undefined,
): string {
  if (!cm) return '';
  return createHash('sha256')
    .update(JSON.stringify([cm.data ?? {}, cm.binaryData ?? {}]))
    .digest('hex')
    .slice(0, 16);
}
