// What every builder of a Function's children shares: the Function as they see it,
// the workers' configuration, and the metadata each child carries (labels and the
// owner reference through which Kubernetes garbage-collects it with the Function).
import type * as k8s from '@kubernetes/client-node';
import type { ContentRef } from '../../lib/content-ref.ts';
import type { FunctionDefinition } from '../../lib/function.ts';
import { API_VERSION } from '../../crds/schema.ts';
import { FUNCTION_LABEL, MANAGED_BY, VERSION_LABEL } from '../labels.ts';

/**
 * What the builders need to know about the object itself: a Function (its $LATEST),
 * or a FunctionVersion (a published version: `def.version` set), whose children are
 * its own (labels.ts names them apart).
 */
export interface FunctionObject {
  def: FunctionDefinition;
  uid: string;
  /** The FunctionVersion's own name, for the owner reference; unset for a Function. */
  versionObject?: string;
}

export interface WorkerConfig {
  /** The gateway Service URL functions call through the AWS SDK. */
  gatewayUrl: string;
  /**
   * Where agents pull work: the gateway's headless Service, whose name resolves to
   * every replica, so an agent serves calls that reach any of them
   * (docs/worker-channel.md). Defaults to gatewayUrl (one replica).
   */
  agentGatewayUrl?: string;
  /** The table service URL functions reach through AWS_ENDPOINT_URL_DYNAMODB. */
  tablesUrl: string;
  region: string;
  /** Runtime -> image with the agent and that language (runtime-images/images). */
  runtimeImages: Record<string, string>;
  /** The control-plane image; its agent runs beside image functions. */
  agentImage: string;
  replicas: number;
  /** Hash of code the Deployment cannot see change (a referenced ConfigMap). */
  codeHash?: string;
  /** The layers extracted into /opt (layers.ts), and the hash that rolls the pods when they change. */
  layers?: { count: number; hash: string; chunked?: (ContentRef | null)[] };
  /** Bearer token of the gateway's worker channel; copied into a Secret beside the function. */
  workerToken?: string;
}

/** Where things are in a worker pod. */
export const TASK_ROOT = '/var/task';
export const TMP_DIR = '/tmp';
export const CONFIG_DIR = '/etc/selfless';
export const MANIFEST = 'function.yaml';
export const RUNTIME_API_PORT = 9001;

/** A version's pods carry the function's label too, so its policies select them alike. */
export function labels(name: string, version?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'selfless-worker',
    'app.kubernetes.io/instance': version === undefined ? name : `${name}-${version}`,
    'app.kubernetes.io/part-of': 'selfless',
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [FUNCTION_LABEL]: name,
    ...(version !== undefined && { [VERSION_LABEL]: version }),
  };
}

export function ownerReference(fn: FunctionObject): k8s.V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: fn.versionObject === undefined ? 'Function' : 'FunctionVersion',
    name: fn.versionObject ?? fn.def.name,
    uid: fn.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function childMeta(fn: FunctionObject, name: string): k8s.V1ObjectMeta {
  return {
    name,
    namespace: fn.def.namespace,
    labels: labels(fn.def.name, fn.def.version),
    ownerReferences: [ownerReference(fn)],
  };
}
