// The warm pool's shared vocabulary (docs/kubernetes.md, "Warm pool"). A pool worker
// is an agent started with no function: it long-polls the worker channel under a
// pool key (one per namespace and runtime), and the one "invocation" it ever gets is
// a specialization order carrying one function's definition and code. It then
// becomes an ordinary worker of that function and never returns to the pool.
// Reusing the channel's `next` gives orders what invocations already have: one
// taker among several gateway replicas, and give-back of the rest.
import {
  functionKey,
  parseFunctionManifest,
  splitKey,
  type FunctionDefinition,
} from './function.ts';
import { formatErrors } from './parse.ts';
import { RUNTIMES, runtimeFamily, type Runtime } from './runtimes.ts';

/** On pool pods: the runtime they are warm for. */
export const POOL_LABEL = 'selfless.dev/pool';
/** On a pod taken from the pool: the function it now serves (beside the function label). */
export const SPECIALIZED_LABEL = 'selfless.dev/specialized';

const POOL_NAME_PREFIX = '@pool.';

/** The channel key pool workers of `runtime` in `namespace` poll under: no function has it. */
export function poolKey(namespace: string, runtime: Runtime): string {
  return functionKey(namespace, `${POOL_NAME_PREFIX}${runtime}`);
}

/** [namespace, runtime] of a pool key; undefined for a function's key. */
export function parsePoolKey(key: string): [string, Runtime] | undefined {
  const [namespace, name] = splitKey(key);
  if (!name.startsWith(POOL_NAME_PREFIX)) return undefined;
  const runtime = name.slice(POOL_NAME_PREFIX.length) as Runtime;
  return RUNTIMES.includes(runtime) ? [namespace, runtime] : undefined;
}

/**
 * Whether a pool worker can become a worker of `fn`: its code travels in the
 * definition (inline files or a zip, at most what a Function resource holds), the
 * pool's image has its runtime, and one event per environment (the pool starts its
 * workers as Lambda's default environments).
 */
export function poolable(fn: FunctionDefinition): boolean {
  const { code } = fn.spec;
  return (
    (code.inline !== undefined || code.zipFile !== undefined) &&
    runtimeFamily(fn.spec.runtime) !== 'java' &&
    (fn.spec.perExecutionEnvironmentMaxConcurrency ?? 1) === 1 &&
    // A pool pod has no /opt of the function's layers (operator/function/layers.ts).
    (fn.spec.layers ?? []).length === 0 &&
    fn.version === undefined
  );
}

const POOL_WORKER_PREFIX = 'pool~';

/**
 * A pool worker's id names its pod (a pod name has no '/'), so every gateway replica
 * it connects to can report that pod, not only the one that specialized it.
 */
export function poolWorkerId(pod: string, unique: string): string {
  return `${POOL_WORKER_PREFIX}${pod}/${unique}`;
}

/** The pod of a worker that came from a pool; undefined for any other worker. */
export function podOfPoolWorker(workerId: string): string | undefined {
  if (!workerId.startsWith(POOL_WORKER_PREFIX)) return undefined;
  const pod = workerId.slice(POOL_WORKER_PREFIX.length).split('/')[0];
  return pod || undefined;
}

/** What a pool worker answers an order with: the pod it runs in, so the operator can adopt it. */
export interface OrderAnswer {
  pod: string;
}

/** The order's body: the function as a Function manifest, code included. */
export function encodeOrder(fn: FunctionDefinition): Buffer {
  return Buffer.from(
    JSON.stringify({
      // Literal, as parseFunctionManifest checks it: runtime images carry no crds/.
      apiVersion: 'selfless.dev/v1alpha1',
      kind: 'Function',
      metadata: { name: fn.name, namespace: fn.namespace },
      spec: fn.spec,
    }),
  );
}

/** The definition an order carries, validated as any manifest is; a string says what is wrong. */
export function decodeOrder(body: Buffer): FunctionDefinition | string {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return 'the specialization order is not JSON';
  }
  const parsed = parseFunctionManifest(doc);
  if (!parsed.ok)
    return `the specialization order is not a valid Function: ${formatErrors(parsed.errors)}`;
  return poolable(parsed.value)
    ? parsed.value
    : 'the specialization order names a function a pool worker cannot serve';
}

export function encodeOrderAnswer(answer: OrderAnswer): Buffer {
  return Buffer.from(JSON.stringify(answer));
}

export function decodeOrderAnswer(body: Buffer): OrderAnswer | undefined {
  try {
    const v = JSON.parse(body.toString('utf8')) as Partial<OrderAnswer>;
    return typeof v.pod === 'string' && v.pod !== '' ? { pod: v.pod } : undefined;
  } catch {
    return undefined;
  }
}
