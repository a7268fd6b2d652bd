// The variables of a worker pod's containers. The function's own environment is
// Lambda's contract (lib/lambda-environment.ts), the one every worker shape gives it;
// what this file decides is which container carries what.
import type * as k8s from '@kubernetes/client-node';
import { lambdaEnvironment } from '../../lib/lambda-environment.ts';
import { tokenSecretName } from '../labels.ts';
import {
  RUNTIME_API_PORT,
  TASK_ROOT,
  TMP_DIR,
  type FunctionObject,
  type WorkerConfig,
} from './function-object.ts';

/**
 * What a worker hands on to its functions (lib/lambda-environment.ts): the region,
 * the endpoints of the gateway and the table service, and credentials.
 */
function platformEnvironment(fn: FunctionObject, cfg: WorkerConfig): Record<string, string> {
  return platformEnvironmentIn(fn.def.namespace, cfg);
}

/** The platform's variables for a worker of any function in `namespace` (a pool worker's too). */
export function platformEnvironmentIn(
  namespace: string,
  cfg: Omit<WorkerConfig, 'replicas'>,
): Record<string, string> {
  return {
    AWS_REGION: cfg.region,
    AWS_DEFAULT_REGION: cfg.region,
    AWS_ENDPOINT_URL_LAMBDA: cfg.gatewayUrl,
    AWS_ENDPOINT_URL_DYNAMODB: cfg.tablesUrl,
    // Not a secret: the access key names the namespace, so a bare function name
    // called from inside this function resolves in its own namespace (docs/kubernetes.md).
    AWS_ACCESS_KEY_ID: namespace,
    AWS_SECRET_ACCESS_KEY: 'selfless',
  };
}

/**
 * An image function's container: the whole Lambda environment, since no agent starts
 * its runtime. The kubelet names the log stream after the pod, the one name an
 * environment has before it runs.
 */
export function functionEnvironment(fn: FunctionObject, cfg: WorkerConfig): k8s.V1EnvVar[] {
  const env = lambdaEnvironment({
    fn: fn.def,
    region: cfg.region,
    runtimeApi: `127.0.0.1:${RUNTIME_API_PORT}`,
    taskRoot: TASK_ROOT,
    tmpDir: TMP_DIR,
    platform: platformEnvironment(fn, cfg),
  });
  return [
    ...envVars(env),
    { name: 'AWS_LAMBDA_LOG_STREAM_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
}

/**
 * The agent's own variables: the platform's, which it hands on, and its namespace and
 * token. It computes the function's environment itself from the manifest, so the
 * function's variables stay out of the agent's process.
 */
export function agentEnvironment(fn: FunctionObject, cfg: WorkerConfig): k8s.V1EnvVar[] {
  const env: k8s.V1EnvVar[] = [
    ...envVars(platformEnvironment(fn, cfg)),
    { name: 'SELFLESS_NAMESPACE', value: fn.def.namespace },
  ];
  if (cfg.workerToken) {
    env.push({
      name: 'SELFLESS_WORKER_TOKEN',
      valueFrom: { secretKeyRef: { name: tokenSecretName(fn.def), key: 'token' } },
    });
  }
  return env;
}

/** The kubelet expands `$(NAME)` and `$$` in values: `$$` keeps every value verbatim. */
export function envVars(env: Record<string, string>): k8s.V1EnvVar[] {
  return Object.entries(env).map(([name, value]) => ({
    name,
    value: value.replaceAll('$', '$$$$'),
  }));
}
