// The containers of a worker pod: the worker (the agent and a managed runtime in one
// container), or for an image function the user's image with the agent beside it as a
// native sidecar. Resources follow Lambda (CPU proportional to memory); every
// container is hardened the same way.
import type * as k8s from '@kubernetes/client-node';
import { agentEnvironment, functionEnvironment } from './environment.ts';
import {
  CONFIG_DIR,
  MANIFEST,
  RUNTIME_API_PORT,
  TASK_ROOT,
  TMP_DIR,
  type FunctionObject,
  type WorkerConfig,
} from './function-object.ts';

/** Lambda: 1769 MB of memory buys one vCPU; CPU is proportional below and above. */
export const MB_PER_VCPU = 1769;
/** Memory the agent itself needs in a worker, added on top of memorySize. */
export const AGENT_MEMORY_MB = 64;
/** The agent's /healthz for an image function's liveness probe. */
const LIVENESS_PORT = 9002;

export const HARDENED: k8s.V1SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ['ALL'] },
};

/** The pod of every worker, a function's or a warm pool's: uid 65532, as Lambda's sbx_user. */
export const HARDENED_POD: k8s.V1PodSecurityContext = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  fsGroup: 65532,
  seccompProfile: { type: 'RuntimeDefault' },
};

export function cpuMillis(memorySize: number): number {
  return Math.max(1, Math.round((memorySize * 1000) / MB_PER_VCPU));
}

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
    TMP_DIR,
    ...(fn.def.version !== undefined ? ['--version', fn.def.version] : []),
  ];
}

/** A managed runtime: the agent starts the runtime as its child, in one container. */
export function workerContainer(
  fn: FunctionObject,
  cfg: WorkerConfig,
  volumeMounts: k8s.V1VolumeMount[],
): k8s.V1Container {
  const { spec } = fn.def;
  const cpu = `${cpuMillis(spec.memorySize)}m`;
  const withAgent = `${spec.memorySize + AGENT_MEMORY_MB}Mi`;
  return {
    name: 'worker',
    image: cfg.runtimeImages[spec.runtime]!,
    args: agentArgs(fn, cfg),
    env: agentEnvironment(fn, cfg),
    resources: {
      requests: {
        cpu,
        memory: withAgent,
        'ephemeral-storage': `${spec.ephemeralStorage.size}Mi`,
      },
      limits: { cpu, memory: withAgent },
    },
    volumeMounts,
    securityContext: HARDENED,
  };
}

/**
 * The agent beside an image function, as a native sidecar serving the Runtime API on
 * localhost. It cannot kill a runtime that overruns: its /healthz turns 503 and the
 * function container's liveness probe has the kubelet restart it.
 */
export function agentSidecar(
  fn: FunctionObject,
  cfg: WorkerConfig,
  volumeMounts: k8s.V1VolumeMount[],
): k8s.V1Container {
  return {
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
    env: agentEnvironment(fn, cfg),
    volumeMounts,
    resources: {
      requests: { cpu: '50m', memory: `${AGENT_MEMORY_MB}Mi` },
      limits: { memory: `${AGENT_MEMORY_MB}Mi` },
    },
    securityContext: HARDENED,
  };
}

/** The user's image keeps its own entry point: any image built for Lambda runs. */
export function functionContainer(
  fn: FunctionObject,
  cfg: WorkerConfig,
  volumeMounts: k8s.V1VolumeMount[],
): k8s.V1Container {
  const { spec } = fn.def;
  const memory = `${spec.memorySize}Mi`;
  const cpu = `${cpuMillis(spec.memorySize)}m`;
  return {
    name: 'function',
    image: spec.code.imageURI!,
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
    volumeMounts,
    securityContext: HARDENED,
  };
}
