// The warm pool of one runtime in one namespace (lib/warm-pool.ts): a Deployment of
// generic workers, `selfless agent --pool RUNTIME`, with the agent started and no
// code, and the Secret with the worker-channel token they present. Both are owned by
// every Function they may serve, so Kubernetes removes them with the last one.
// Pool pods are hardened as function workers are; what differs while one is
// specialized and not yet replaced is in docs/kubernetes.md ("Warm pool").
import type * as k8s from '@kubernetes/client-node';
import type { Runtime } from '../../lib/runtimes.ts';
import { POOL_LABEL } from '../../lib/warm-pool.ts';
import { UNZIPPED_MAX_MB } from '../../lib/zip.ts';
import { LIMITS } from '../../lib/function.ts';
import { MANAGED_BY } from '../labels.ts';
import { AGENT_MEMORY_MB, HARDENED, HARDENED_POD } from '../function/containers.ts';
import { envVars, platformEnvironmentIn } from '../function/environment.ts';
import { egressPolicyFor, type Endpoint } from '../function/egress-policy.ts';
import {
  TASK_ROOT,
  TMP_DIR,
  ownerReference,
  type FunctionObject,
  type WorkerConfig,
} from '../function/function-object.ts';

export interface PoolConfig {
  /** Pool workers per namespace, by runtime; a runtime not named has no pool. */
  sizes: Partial<Record<Runtime, number>>;
  /** CPU limit of a pool worker, in millicores: what a specialized one runs with until replaced. */
  cpuMillis: number;
  /** Memory limit of a pool worker; functions with more memorySize wait for their own workers. */
  memoryMB: number;
}

export const POOL_TOKEN_SECRET = 'selfless-pool-token';

export function poolDeploymentName(runtime: Runtime): string {
  return `selfless-pool-${runtime.replaceAll('.', '-')}`;
}

function poolLabels(runtime: Runtime): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'selfless-pool',
    'app.kubernetes.io/part-of': 'selfless',
    'app.kubernetes.io/managed-by': MANAGED_BY,
    [POOL_LABEL]: runtime,
  };
}

function poolMeta(
  namespace: string,
  name: string,
  runtime: Runtime,
  owners: FunctionObject[],
): k8s.V1ObjectMeta {
  return {
    name,
    namespace,
    labels: poolLabels(runtime),
    // Shared by all of them: none controls it, and none blocks the others' deletion.
    ownerReferences: owners.map((fn) => ({
      ...ownerReference(fn),
      controller: false,
      blockOwnerDeletion: false,
    })),
  };
}

/**
 * Keeps pool workers off protected storage (egress-policy.ts): a specialized one runs
 * function code before the operator relabels it into its function's own policy.
 */
export function makePoolEgressPolicy(
  namespace: string,
  runtime: Runtime,
  owners: FunctionObject[],
  protectedEndpoints: Endpoint[],
): k8s.V1NetworkPolicy | undefined {
  return egressPolicyFor(
    poolMeta(namespace, `${poolDeploymentName(runtime)}-egress`, runtime, owners),
    { [POOL_LABEL]: runtime },
    protectedEndpoints,
  );
}

export function makePoolTokenSecret(
  namespace: string,
  runtime: Runtime,
  owners: FunctionObject[],
  token: string,
): k8s.V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: poolMeta(namespace, POOL_TOKEN_SECRET, runtime, owners),
    type: 'Opaque',
    stringData: { token },
  };
}

export function makePoolDeployment(
  namespace: string,
  runtime: Runtime,
  owners: FunctionObject[],
  worker: Omit<WorkerConfig, 'replicas' | 'codeHash'>,
  pool: PoolConfig,
): k8s.V1Deployment {
  const env: k8s.V1EnvVar[] = [
    ...envVars(platformEnvironmentIn(namespace, worker)),
    { name: 'SELFLESS_NAMESPACE', value: namespace },
  ];
  if (worker.workerToken) {
    env.push({
      name: 'SELFLESS_WORKER_TOKEN',
      valueFrom: { secretKeyRef: { name: POOL_TOKEN_SECRET, key: 'token' } },
    });
  }
  const container: k8s.V1Container = {
    name: 'worker',
    image: worker.runtimeImages[runtime]!,
    args: [
      'agent',
      '--pool',
      runtime,
      '--gateway',
      worker.agentGatewayUrl ?? worker.gatewayUrl,
      '--code',
      TASK_ROOT,
      '--tmp',
      TMP_DIR,
      '--max-memory-size',
      String(pool.memoryMB - AGENT_MEMORY_MB),
    ],
    env,
    // A small request, so idle pools cost the node little; the limit is what a
    // specialized worker has until the function's own worker replaces it.
    resources: {
      requests: { cpu: '25m', memory: '96Mi' },
      limits: { cpu: `${pool.cpuMillis}m`, memory: `${pool.memoryMB}Mi` },
    },
    volumeMounts: [
      { name: 'tmp', mountPath: TMP_DIR },
      { name: 'code', mountPath: TASK_ROOT },
    ],
    securityContext: HARDENED,
  };
  const labels = poolLabels(runtime);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: poolMeta(namespace, poolDeploymentName(runtime), runtime, owners),
    spec: {
      replicas: pool.sizes[runtime] ?? 0,
      selector: { matchLabels: { [POOL_LABEL]: runtime } },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          // A specialized worker finishes its call in flight: up to Lambda's longest timeout.
          terminationGracePeriodSeconds: LIMITS.timeout.max + 5,
          securityContext: HARDENED_POD,
          containers: [container],
          volumes: [
            { name: 'tmp', emptyDir: { sizeLimit: `${LIMITS.ephemeralStorage.max}Mi` } },
            { name: 'code', emptyDir: { sizeLimit: `${UNZIPPED_MAX_MB}Mi` } },
          ],
        },
      },
    },
  };
}
