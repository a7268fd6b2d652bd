// How Kubernetes namespaces map onto Lambda's flat function names (docs/kubernetes.md):
// each namespace is an account. Its account ID is derived from the namespace name,
// so ARNs are stable across reinstalls and need no registry; `default` is the
// account `selfless dev` uses (000000000000), so local and cluster ARNs agree there.
// A bare name resolves in the caller's namespace; another namespace's function is
// called by its ARN (or partial ARN), exactly as another AWS account's would be.
import { createHash } from 'node:crypto';

export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_ACCOUNT_ID = '000000000000';

export function accountIdForNamespace(namespace: string): string {
  if (namespace === DEFAULT_NAMESPACE) return DEFAULT_ACCOUNT_ID;
  const digest = createHash('sha256').update(`selfless-namespace:${namespace}`).digest();
  // 12 decimal digits from 48 bits; never all zeros (that is `default`).
  const n = digest.readUIntBE(0, 6) % 999_999_999_999;
  return String(n + 1).padStart(12, '0');
}

// Every ARN Selfless writes is built here, so the partition and layout cannot differ
// between the components that write them.

/** A Lambda function ARN; with a qualifier (`$LATEST`, a version, an alias) at the end. */
export function lambdaArn(
  region: string,
  accountId: string,
  name: string,
  qualifier?: string,
): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${name}${qualifier !== undefined ? `:${qualifier}` : ''}`;
}

/** The ARN of a namespace's function: each namespace is an account. */
export function functionArn(region: string, namespace: string, name: string): string {
  return lambdaArn(region, accountIdForNamespace(namespace), name);
}

/**
 * The capacity provider a function that runs several events per environment reports
 * (Lambda Managed Instances): Selfless has one, its own workers.
 */
export function capacityProviderArn(region: string, accountId: string): string {
  return `arn:aws:lambda:${region}:${accountId}:capacity-provider:selfless`;
}

export function tableArn(region: string, accountId: string, table: string): string {
  return `arn:aws:dynamodb:${region}:${accountId}:table/${table}`;
}

export function indexArn(region: string, accountId: string, table: string, index: string): string {
  return `${tableArn(region, accountId, table)}/index/${index}`;
}

/** The EventBridge rule a schedule trigger stands for (the `resources` of its event). */
export function scheduleRuleArn(region: string, accountId: string, rule: string): string {
  return `arn:aws:events:${region}:${accountId}:rule/${rule}`;
}

/** The execution role GetFunction reports: one per namespace (no IAM is modelled). */
export function roleArn(accountId: string, role: string): string {
  return `arn:aws:iam::${accountId}:role/${role}`;
}

/**
 * The namespace a request addresses: the account of an ARN or partial ARN, else the
 * caller's namespace. `namespaces` lists the namespaces that have functions (an
 * account ID is found by recomputing, not by a table that could go stale).
 */
export function namespaceForAccount(
  accountId: string,
  namespaces: Iterable<string>,
): string | undefined {
  for (const ns of namespaces) if (accountIdForNamespace(ns) === accountId) return ns;
  return undefined;
}

/**
 * The caller's namespace: workers get AWS_ACCESS_KEY_ID=<their namespace>, so the
 * access key ID of the SigV4 credential names it; anything else means `fallback`.
 * This is addressing, not authentication.
 */
export function callerNamespace(
  accessKeyId: string | undefined,
  namespaces: Set<string>,
  fallback = DEFAULT_NAMESPACE,
): string {
  return accessKeyId && namespaces.has(accessKeyId) ? accessKeyId : fallback;
}

// Lambda accepts a function as a name, a partial ARN (123456789012:function:name)
// or a full ARN, optionally with a qualifier (:alias or :version) at the end.
export interface FunctionRef {
  name: string;
  /** The account of an ARN or partial ARN. */
  accountId?: string;
  qualifier?: string;
}

const ARN =
  /^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:(\d{12}):function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;
const PARTIAL = /^(\d{12}):function:([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;
const NAME = /^()([a-zA-Z0-9-_]+)(?::([a-zA-Z0-9-_$]+))?$/;

export function parseFunctionRef(raw: string): FunctionRef | undefined {
  const m = ARN.exec(raw) ?? PARTIAL.exec(raw) ?? NAME.exec(raw);
  if (!m) return undefined;
  const ref: FunctionRef = { name: m[2]! };
  if (m[1]) ref.accountId = m[1];
  if (m[3] !== undefined) ref.qualifier = m[3];
  return ref;
}
