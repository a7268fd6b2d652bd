// What the end-to-end tests share: the cluster `npm test` brought up (or the one given
// in SELFLESS_E2E_*), kubectl and helm against it, AWS SDK clients for the gateway and
// the table service, and polling for a state the cluster reaches on its own.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { functionArn } from '../../lib/names.ts';
import { helmBinary, kubectlBinary } from '../services/local.ts';

const exec = promisify(execFile);

export interface E2eCluster {
  kubeconfig: string;
  gatewayUrl: string;
  tablesUrl: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region: string;
  /** The chart's release and namespace. */
  release: string;
  namespace: string;
}

export function e2eCluster(): E2eCluster {
  const get = (k: string) => {
    const v = process.env[`SELFLESS_E2E_${k}`];
    if (!v) {
      throw new Error(
        `SELFLESS_E2E_${k} is not set: run the end-to-end tests through npm test, which brings the cluster up`,
      );
    }
    return v;
  };
  return {
    kubeconfig: get('KUBECONFIG'),
    gatewayUrl: get('GATEWAY_URL'),
    tablesUrl: get('TABLES_URL'),
    credentials: {
      accessKeyId: process.env.SELFLESS_E2E_AWS_ACCESS_KEY_ID ?? 'e2e',
      secretAccessKey: process.env.SELFLESS_E2E_AWS_SECRET_ACCESS_KEY ?? 'e2e',
    },
    region: process.env.SELFLESS_E2E_REGION ?? 'us-east-1',
    release: process.env.SELFLESS_E2E_RELEASE ?? 'selfless',
    namespace: process.env.SELFLESS_E2E_NAMESPACE ?? 'selfless',
  };
}

export async function kubectl(
  c: E2eCluster,
  args: string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const run = exec(kubectlBinary(), ['--kubeconfig', c.kubeconfig, ...args], {
    timeout: opts.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (opts.input !== undefined) {
    run.child.stdin!.end(opts.input);
  }
  return (await run).stdout;
}

export async function helm(c: E2eCluster, args: string[], timeoutMs = 600_000): Promise<string> {
  const { stdout } = await exec(helmBinary(), ['--kubeconfig', c.kubeconfig, ...args], {
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout;
}

/** Turns a Table resource's deletion protection off (the operator then may delete it). */
export async function liftDeletionProtection(
  c: E2eCluster,
  namespace: string,
  name: string,
): Promise<void> {
  await kubectl(c, [
    'patch',
    'tables.selfless.dev',
    name,
    '-n',
    namespace,
    '--type=merge',
    '-p',
    '{"spec":{"deletionProtectionEnabled":false}}',
  ]);
}

export async function getJson<T = Record<string, unknown>>(
  c: E2eCluster,
  args: string[],
): Promise<T> {
  return JSON.parse(await kubectl(c, ['get', ...args, '-o', 'json'])) as T;
}

/** A namespace of its own for one test file, deleted afterwards. */
export async function makeNamespace(c: E2eCluster, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await kubectl(c, ['create', 'namespace', name]);
  return name;
}

export async function deleteNamespace(c: E2eCluster, name: string): Promise<void> {
  await kubectl(c, ['delete', 'namespace', name, '--wait=false', '--ignore-not-found']);
}

export function lambdaClient(c: E2eCluster, accessKeyId = c.credentials.accessKeyId): LambdaClient {
  return new LambdaClient({
    endpoint: c.gatewayUrl,
    region: c.region,
    credentials: { ...c.credentials, accessKeyId },
    // The tests count throttles: the SDK must not retry them away.
    maxAttempts: 1,
  });
}

export function dynamodbClient(c: E2eCluster): DynamoDBClient {
  return new DynamoDBClient({
    endpoint: c.tablesUrl,
    region: c.region,
    credentials: c.credentials,
  });
}

/** The ARN that names `name` in `namespace` (each namespace is an account). */
export function arnOf(c: E2eCluster, namespace: string, name: string): string {
  return functionArn(c.region, namespace, name);
}

/**
 * Polls `check` until it returns a value that is not undefined. The cluster gets
 * there on its own (a rollout, a scale, a reconcile); the deadline only bounds a
 * failure, it is not what the test asserts.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 180_000,
  intervalMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

interface Condition {
  type: string;
  status: string;
  reason: string;
  message?: string;
}

/** Waits until a Function or Table reports Ready with one of `reasons`. */
export async function waitReady(
  c: E2eCluster,
  kind: 'function' | 'table',
  name: string,
  namespace: string,
  reasons: string[],
  timeoutMs = 240_000,
): Promise<Condition> {
  return eventually(
    `${kind} ${namespace}/${name} Ready (${reasons.join('|')})`,
    async () => {
      const obj = await getJson<{ status?: { conditions?: Condition[] } }>(c, [
        `${kind}s.selfless.dev`,
        name,
        '-n',
        namespace,
      ]);
      const ready = obj.status?.conditions?.find((x) => x.type === 'Ready');
      return ready && reasons.includes(ready.reason) ? ready : undefined;
    },
    timeoutMs,
  );
}

/**
 * Pods of a function's worker Deployment that are Running and ready, and not being
 * deleted: a deleted pod stays Running and Ready while it terminates.
 */
export async function readyWorkers(c: E2eCluster, namespace: string, fn: string): Promise<number> {
  const pods = await getJson<{
    items: {
      metadata?: { deletionTimestamp?: string };
      status?: { phase?: string; conditions?: { type: string; status: string }[] };
    }[];
  }>(c, ['pods', '-n', namespace, '-l', `selfless.dev/function=${fn}`]);
  return pods.items.filter(
    (p) =>
      !p.metadata?.deletionTimestamp &&
      p.status?.phase === 'Running' &&
      p.status.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
  ).length;
}
