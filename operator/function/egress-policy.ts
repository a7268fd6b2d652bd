// The NetworkPolicy beside a Function's workers that keeps them off the platform's
// own storage when it lives outside the cluster. An in-chart Redis or Scylla is
// closed by an ingress policy on its pods; an external CQL cluster or Redis has no
// pods to select, so the only place to stop a function's code from talking to it
// directly (and reading every table, bypassing the table service) is the egress of
// the workers themselves. The policy allows everything except the protected
// host:port pairs: other ports on the same hosts stay open.
import type * as k8s from '@kubernetes/client-node';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { egressPolicyName } from '../labels.ts';
import { childMeta, labels, type FunctionObject } from './function-object.ts';

/** One protected address: an IP and a TCP port. */
export interface Endpoint {
  ip: string;
  port: number;
}

const MAX_PORT = 65535;

/** Parses `host:port[,host:port...]` (IPv6 as `[addr]:port`). */
export function parseHostPorts(spec: string): { host: string; port: number }[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(s);
      const port = Number(m?.[3]);
      if (!m || !Number.isInteger(port) || port < 1 || port > MAX_PORT) {
        throw new Error(`'${s}' is not host:port`);
      }
      return { host: m[1] ?? m[2]!, port };
    });
}

type Lookup = (host: string) => Promise<string[]>;

const dnsLookup: Lookup = async (host) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * Resolves the protected host names to addresses, again at most every `ttlMs`, so a
 * contact point whose address moves is followed by the next reconcile.
 */
export function endpointResolver(
  targets: { host: string; port: number }[],
  opts: { ttlMs?: number; now?: () => number; lookup?: Lookup } = {},
): () => Promise<Endpoint[]> {
  const { ttlMs = 60_000, now = Date.now, lookup: resolve = dnsLookup } = opts;
  let cached: { at: number; endpoints: Endpoint[] } | undefined;
  return async () => {
    if (cached && now() - cached.at < ttlMs) return cached.endpoints;
    const endpoints: Endpoint[] = [];
    for (const { host, port } of targets) {
      const ips = isIP(host) ? [host] : await resolve(host);
      for (const ip of ips) endpoints.push({ ip, port });
    }
    cached = { at: now(), endpoints };
    return endpoints;
  };
}

const hostCidr = (ip: string) => (isIP(ip) === 6 ? `${ip}/128` : `${ip}/32`);

/** Every TCP port but `closed`, as NetworkPolicy port ranges; UDP stays open. */
function portsExcept(closed: number[]): k8s.V1NetworkPolicyPort[] {
  const ranges: k8s.V1NetworkPolicyPort[] = [];
  let from = 1;
  for (const port of [...new Set(closed)].sort((a, b) => a - b)) {
    if (port > from) ranges.push({ protocol: 'TCP', port: from, endPort: port - 1 });
    from = port + 1;
  }
  if (from <= MAX_PORT) ranges.push({ protocol: 'TCP', port: from, endPort: MAX_PORT });
  ranges.push({ protocol: 'UDP', port: 1, endPort: MAX_PORT });
  return ranges;
}

/** The policy for `fn`'s workers, or undefined when nothing is protected. */
export function makeEgressPolicy(
  fn: FunctionObject,
  protectedEndpoints: Endpoint[],
): k8s.V1NetworkPolicy | undefined {
  return egressPolicyFor(
    childMeta(fn, egressPolicyName(fn.def)),
    labels(fn.def.name, fn.def.version),
    protectedEndpoints,
  );
}

/** The same policy for any pods (`selector`): a warm pool's too (operator/pool/). */
export function egressPolicyFor(
  metadata: k8s.V1ObjectMeta,
  selector: Record<string, string>,
  protectedEndpoints: Endpoint[],
): k8s.V1NetworkPolicy | undefined {
  if (protectedEndpoints.length === 0) return undefined;
  const byIp = new Map<string, number[]>();
  for (const { ip, port } of protectedEndpoints) byIp.set(ip, [...(byIp.get(ip) ?? []), port]);
  const ips = [...byIp.keys()].sort();
  const except = (family: 4 | 6) => ips.filter((ip) => isIP(ip) === family).map(hostCidr);
  const everywhere = (cidr: string, family: 4 | 6): k8s.V1NetworkPolicyPeer => {
    const ex = except(family);
    return { ipBlock: ex.length > 0 ? { cidr, except: ex } : { cidr } };
  };
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: { matchLabels: selector },
      policyTypes: ['Egress'],
      egress: [
        { to: [everywhere('0.0.0.0/0', 4), everywhere('::/0', 6)] },
        ...ips.map((ip) => ({
          to: [{ ipBlock: { cidr: hostCidr(ip) } }],
          ports: portsExcept(byIp.get(ip)!),
        })),
      ],
    },
  };
}
