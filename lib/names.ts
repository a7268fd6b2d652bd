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

export function functionArn(region: string, namespace: string, name: string): string {
  return `arn:aws:lambda:${region}:${accountIdForNamespace(namespace)}:function:${name}`;
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
