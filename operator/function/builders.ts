// Pure builders of a Function's children: the ConfigMap that carries inline or zip
// code and the worker Deployment. Deterministic names and content, owner references
// set here, so a retried reconcile applies the same objects and a changed spec
// changes exactly what it should.
import type * as k8s from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import type { FunctionDefinition } from '../../lib/function.ts';
import { lambdaEnvironment } from '../../lib/lambda-environment.ts';
import { API_VERSION } from '../../crds/schema.ts';
import { stringify } from 'yaml';
import {
  FUNCTION_LABEL,
  MANAGED_BY,
  configMapName,
  configName,
  deploymentName,
  tokenSecretName,
} from '../labels.ts';

/** What the builders need to know about the Function object itself. */
export interface FunctionObject {
  def: FunctionDefinition;
  uid: string;
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
  /** Bearer token of the gateway's worker channel; copied into a Secret beside the function. */
  workerToken?: string;
}

/** Lambda: 1769 MB of memory buys one vCPU; CPU is proportional below and above. */
export const MB_PER_VCPU = 1769;
/** Memory the agent itself needs in a worker, added on top of memorySize. */
export const AGENT_MEMORY_MB = 64;
export const RUNTIME_API_PORT = 9001;
/** The agent's /healthz for an image function's liveness probe. */
const LIVENESS_PORT = 9002;
export const TASK_ROOT = '/var/task';
const ZIP_DIR = '/opt/selfless/zip';
const CONFIG_DIR = '/etc/selfless';
const MANIFEST = 'function.yaml';
const EXTRACT_SCRIPT = '/opt/selfless/runtime-images/images/extract-zip.mjs';
/** Lambda's limit on unzipped code. */
const UNZIPPED_MAX_MB = 250;

export function cpuMillis(memorySize: number): number {
  return Math.max(1, Math.round((memorySize * 1000) / MB_PER_VCPU));
}

export function labels(name: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'selfless-worker',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/part-of': 'selfless',
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [FUNCTION_LABEL]: name,
  };
}

export function ownerReference(fn: FunctionObject): k8s.V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: 'Function',
    name: fn.def.name,
    uid: fn.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function meta(fn: FunctionObject, name: string): k8s.V1ObjectMeta {
  return {
    name,
    namespace: fn.def.namespace,
    labels: labels(fn.def.name),
    ownerReferences: [ownerReference(fn)],
  };
}

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
      metadata: meta(fn, configMapName(fn.def.name)),
      data,
      immutable: false,
    };
  }
  if (code.zipFile) {
    return {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta(fn, configMapName(fn.def.name)),
      binaryData: { 'code.zip': code.zipFile.replace(/\s+/g, '') },
    };
  }
  return undefined;
}

/**
 * The agent's view of the function (runtime, handler, limits, variables) as the
 * Function manifest `selfless agent --manifest` reads; the code is the directory
 * the code volume is mounted on.
 */
export function makeAgentConfig(fn: FunctionObject): k8s.V1ConfigMap {
  const { code: _code, ...spec } = fn.def.spec;
  const manifest = {
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name: fn.def.name, namespace: fn.def.namespace },
    spec: { ...spec, code: { directory: TASK_ROOT } },
  };
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(fn, configName(fn.def.name)),
    data: { [MANIFEST]: stringify(manifest) },
  };
}

export function makeTokenSecret(fn: FunctionObject, token: string): k8s.V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: meta(fn, tokenSecretName(fn.def.name)),
    type: 'Opaque',
    stringData: { token },
  };
}

export function contentHash(
  cm: { data?: Record<string, string>; binaryData?: Record<string, string> } | undefined,
): string {
  if (!cm) return '';
  return createHash('sha256')
    .update(JSON.stringify([cm.data ?? {}, cm.binaryData ?? {}]))
    .digest('hex')
    .slice(0, 16);
}

/**
 * What a worker hands on to its functions (lib/lambda-environment.ts): the region,
 * the endpoints of the gateway and the table service, and credentials.
 */
function platformEnvironment(fn: FunctionObject, cfg: WorkerConfig): Record<string, string> {
  return {
    AWS_REGION: cfg.region,
    AWS_DEFAULT_REGION: cfg.region,
    AWS_ENDPOINT_URL_LAMBDA: cfg.gatewayUrl,
    AWS_ENDPOINT_URL_DYNAMODB: cfg.tablesUrl,
    // Not a secret: the access key names the namespace, so a bare function name
    // called from inside this function resolves in its own namespace (docs/kubernetes.md).
    AWS_ACCESS_KEY_ID: fn.def.namespace,
    AWS_SECRET_ACCESS_KEY: 'selfless',
  };
}

/**
 * An image function's container: the whole Lambda environment, since no agent starts
 * its runtime. The kubelet names the log stream after the pod, the one name an
 * environment has before it runs.
 */
function functionEnvironment(fn: FunctionObject, cfg: WorkerConfig): k8s.V1EnvVar[] {
  const env = lambdaEnvironment({
    fn: fn.def,
    region: cfg.region,
    runtimeApi: `127.0.0.1:${RUNTIME_API_PORT}`,
    taskRoot: TASK_ROOT,
    tmpDir: '/tmp',
    platform: platformEnvironment(fn, cfg),
  });
  return [
    ...envVars(env),
    { name: 'AWS_LAMBDA_LOG_STREAM_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
}

/** The kubelet expands `$(NAME)` and `$$` in values: `$$` keeps every value verbatim. */
function envVars(env: Record<string, string>): k8s.V1EnvVar[] {
  return Object.entries(env).map(([name, value]) => ({
    name,
    value: value.replaceAll('$', '$$$$'),
  }));
}

const hardened: k8s.V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

function agentArgs(fn: FunctionObject, cfg: WorkerConfig): string[] {
  return [
    'agent',
    '--gateway',
    cfg.agentGatewayUrl ?? cfg.gatewayUrl,
    '--function',
    fn.def.name,
    '--manifest',
    `${CONFIG_DIR}/${MANIFEST}`,
    '--code',
    TASK_ROOT,
    '--tmp',
    '/tmp',
  ];
}

/**
 * The agent's own variables: the platform's, which it hands on, and its namespace and
 * token. It computes the function's environment itself from the manifest, so the
 * function's variables stay out of the agent's process.
 */
function agentEnv(fn: FunctionObject, cfg: WorkerConfig): k8s.V1EnvVar[] {
  const env: k8s.V1EnvVar[] = [
    ...envVars(platformEnvironment(fn, cfg)),
    { name: 'SELFLESS_NAMESPACE', value: fn.def.namespace },
  ];
  if (cfg.workerToken) {
    env.push({
      name: 'SELFLESS_WORKER_TOKEN',
      valueFrom: { secretKeyRef: { name: tokenSecretName(fn.def.name), key: 'token' } },
    });
  }
  return env;
}

export function makeDeployment(fn: FunctionObject, cfg: WorkerConfig): k8s.V1Deployment {
  const { spec, name } = fn.def;
  const memory = `${spec.memorySize}Mi`;
  const cpu = `${cpuMillis(spec.memorySize)}m`;
  const tmp: k8s.V1VolumeMount = { name: 'tmp', mountPath: '/tmp' };
  const config: k8s.V1VolumeMount = { name: 'config', mountPath: CONFIG_DIR, readOnly: true };
  const volumes: k8s.V1Volume[] = [
    { name: 'tmp', emptyDir: { sizeLimit: `${spec.ephemeralStorage.size}Mi` } },
    { name: 'config', configMap: { name: configName(name) } },
  ];
  const initContainers: k8s.V1Container[] = [];
  const codeMounts: k8s.V1VolumeMount[] = [];
  const { code } = spec;

  if (code.inline) {
    volumes.push({
      name: 'code',
      configMap: {
        name: configMapName(name),
        items: Object.keys(code.inline)
          .sort()
          .map((f) => ({ key: configMapKey(f), path: f })),
      },
    });
    codeMounts.push({ name: 'code', mountPath: TASK_ROOT, readOnly: true });
  } else if (code.configMapRef) {
    volumes.push({ name: 'code', configMap: { name: code.configMapRef.name } });
    codeMounts.push({ name: 'code', mountPath: TASK_ROOT, readOnly: true });
  } else if (code.zipFile) {
    volumes.push(
      { name: 'zip', configMap: { name: configMapName(name) } },
      { name: 'code', emptyDir: { sizeLimit: `${UNZIPPED_MAX_MB}Mi` } },
    );
    codeMounts.push({ name: 'code', mountPath: TASK_ROOT, readOnly: true });
    initContainers.push({
      name: 'extract-code',
      image: cfg.runtimeImages[spec.runtime]!,
      command: ['node', EXTRACT_SCRIPT, `${ZIP_DIR}/code.zip`, TASK_ROOT],
      volumeMounts: [
        { name: 'zip', mountPath: ZIP_DIR, readOnly: true },
        { name: 'code', mountPath: TASK_ROOT },
      ],
      resources: {
        requests: { cpu: '50m', memory: '64Mi' },
        limits: { cpu: '500m', memory: '256Mi' },
      },
      securityContext: hardened,
    });
  }

  const containers: k8s.V1Container[] = [];
  if (code.imageURI) {
    // The user's image keeps its own entry point (any image built for Lambda); the
    // agent runs beside it as a native sidecar serving the Runtime API on localhost.
    // It cannot kill a runtime that overruns: its /healthz turns 503 and the
    // function container's liveness probe has the kubelet restart it.
    initContainers.push({
      name: 'agent',
      image: cfg.agentImage,
      restartPolicy: 'Always',
      args: [
        ...agentArgs(fn, cfg),
        '--external-runtime',
        '--runtime-api',
        `127.0.0.1:${RUNTIME_API_PORT}`,
        '--liveness-port',
        String(LIVENESS_PORT),
      ],
      env: agentEnv(fn, cfg),
      volumeMounts: [tmp, config],
      resources: {
        requests: { cpu: '50m', memory: `${AGENT_MEMORY_MB}Mi` },
        limits: { memory: `${AGENT_MEMORY_MB}Mi` },
      },
      securityContext: hardened,
    });
    containers.push({
      name: 'function',
      image: code.imageURI,
      env: functionEnvironment(fn, cfg),
      livenessProbe: {
        httpGet: { path: '/healthz', port: LIVENESS_PORT },
        periodSeconds: 1,
        failureThreshold: 1,
      },
      resources: {
        requests: { cpu, memory, 'ephemeral-storage': `${spec.ephemeralStorage.size}Mi` },
        limits: { cpu, memory },
      },
      volumeMounts: [tmp],
      securityContext: hardened,
    });
  } else {
    const withAgent = `${spec.memorySize + AGENT_MEMORY_MB}Mi`;
    containers.push({
      name: 'worker',
      image: cfg.runtimeImages[spec.runtime]!,
      args: agentArgs(fn, cfg),
      env: agentEnv(fn, cfg),
      resources: {
        requests: {
          cpu,
          memory: withAgent,
          'ephemeral-storage': `${spec.ephemeralStorage.size}Mi`,
        },
        limits: { cpu, memory: withAgent },
      },
      volumeMounts: [tmp, config, ...codeMounts],
      securityContext: hardened,
    });
  }

  // Pods read code and configuration once at start: a change must roll them.
  const annotations: Record<string, string> = {
    'selfless.dev/config-hash': contentHash(makeAgentConfig(fn)),
  };
  if (cfg.codeHash) annotations['selfless.dev/code-hash'] = cfg.codeHash;
  const podSpec: k8s.V1PodSpec = {
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    // An invocation in flight may finish: the agent stops taking work on SIGTERM.
    terminationGracePeriodSeconds: spec.timeout + 5,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers,
    volumes,
  };
  if (initContainers.length > 0) podSpec.initContainers = initContainers;

  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(fn, deploymentName(name)),
    spec: {
      replicas: cfg.replicas,
      selector: { matchLabels: { [FUNCTION_LABEL]: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
      template: {
        metadata: {
          labels: labels(name),
          ...(Object.keys(annotations).length ? { annotations } : {}),
        },
        spec: podSpec,
      },
    },
  };
}
