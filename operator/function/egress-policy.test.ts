// The workers' egress policy: everything open but the protected host:port pairs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as k8s from '@kubernetes/client-node';
import { functionObject as fn } from '../../test/support/function-object.ts';
import { endpointResolver, makeEgressPolicy, parseHostPorts } from './egress-policy.ts';

const CODE = { code: { inline: { 'index.mjs': 'export const handler = async () => 1;' } } };

/** Whether `policy` lets a worker open TCP to ip:port (IPv4, /32 and /0 blocks only). */
function allows(policy: k8s.V1NetworkPolicy, ip: string, port: number): boolean {
  return policy.spec!.egress!.some((rule) => {
    const peer = rule.to!.some((p) => {
      const b = p.ipBlock!;
      if (b.cidr === '0.0.0.0/0') return !(b.except ?? []).includes(`${ip}/32`);
      return b.cidr === `${ip}/32`;
    });
    const onPort =
      !rule.ports ||
      rule.ports.some(
        (r) =>
          r.protocol === 'TCP' && Number(r.port) <= port && port <= (r.endPort ?? Number(r.port)),
      );
    return peer && onPort;
  });
}

test('no protected endpoint, no policy: a function keeps the egress it has without one', () => {
  assert.equal(makeEgressPolicy(fn(CODE), []), undefined);
});

test('a protected CQL port is closed to the workers while every other port and host stays open', () => {
  const policy = makeEgressPolicy(fn(CODE), [
    { ip: '192.0.2.2', port: 19042 },
    { ip: '192.0.2.9', port: 6379 },
  ])!;
  assert.equal(policy.metadata?.name, 'fn-f-egress');
  assert.equal(policy.metadata?.ownerReferences?.[0]?.uid, 'uid-1');
  assert.equal(policy.spec!.podSelector!.matchLabels?.['selfless.dev/function'], 'f');
  assert.deepEqual(policy.spec!.policyTypes, ['Egress']);
  assert.equal(allows(policy, '192.0.2.2', 19042), false);
  assert.equal(allows(policy, '192.0.2.9', 6379), false);
  for (const [ip, port] of [
    ['192.0.2.2', 19041],
    ['192.0.2.2', 19043],
    ['192.0.2.2', 1],
    ['192.0.2.2', 65535],
    ['192.0.2.9', 6380],
    ['10.0.0.10', 53],
    ['10.0.0.10', 19042],
  ] as const) {
    assert.equal(allows(policy, ip, port), true, `${ip}:${port}`);
  }
});

test('two ports on one host close both and leave the ports between them open', () => {
  const policy = makeEgressPolicy(fn(CODE), [
    { ip: '192.0.2.2', port: 9042 },
    { ip: '192.0.2.2', port: 9043 },
    { ip: '192.0.2.2', port: 9160 },
  ])!;
  assert.equal(allows(policy, '192.0.2.2', 9042), false);
  assert.equal(allows(policy, '192.0.2.2', 9043), false);
  assert.equal(allows(policy, '192.0.2.2', 9160), false);
  assert.equal(allows(policy, '192.0.2.2', 9044), true);
  assert.equal(allows(policy, '192.0.2.2', 9159), true);
  // Every range is well formed: the API server refuses endPort < port.
  for (const rule of policy.spec!.egress!)
    for (const r of rule.ports ?? []) assert.ok(r.endPort! >= Number(r.port), JSON.stringify(r));
});

test('an IPv6 endpoint is excepted from ::/0 with a /128 and IPv4 stays wholly open', () => {
  const policy = makeEgressPolicy(fn(CODE), [{ ip: '2001:db8::5', port: 9042 }])!;
  const blocks = policy.spec!.egress![0]!.to!.map((p) => p.ipBlock);
  assert.deepEqual(blocks, [{ cidr: '0.0.0.0/0' }, { cidr: '::/0', except: ['2001:db8::5/128'] }]);
  assert.deepEqual(policy.spec!.egress![1]!.to, [{ ipBlock: { cidr: '2001:db8::5/128' } }]);
});

test('contact points parse as host:port lists and a malformed one is refused by name', () => {
  assert.deepEqual(parseHostPorts('10.0.0.1:9042, cql.example:19042,[2001:db8::1]:9042'), [
    { host: '10.0.0.1', port: 9042 },
    { host: 'cql.example', port: 19042 },
    { host: '2001:db8::1', port: 9042 },
  ]);
  assert.throws(() => parseHostPorts('cql.example'), /'cql.example' is not host:port/);
  assert.throws(() => parseHostPorts('h:70000'), /not host:port/);
});

test('host names resolve to every address, and again only after the TTL', async () => {
  let now = 0;
  const answers = [['10.0.0.1', '10.0.0.2'], ['10.0.0.3']];
  let calls = 0;
  const resolve = endpointResolver(
    [
      { host: 'cql.example', port: 9042 },
      { host: '192.0.2.2', port: 6379 },
    ],
    { ttlMs: 60_000, now: () => now, lookup: async () => answers[calls++]! },
  );
  assert.deepEqual(await resolve(), [
    { ip: '10.0.0.1', port: 9042 },
    { ip: '10.0.0.2', port: 9042 },
    { ip: '192.0.2.2', port: 6379 },
  ]);
  now = 59_999;
  await resolve();
  assert.equal(calls, 1);
  now = 60_000;
  assert.deepEqual((await resolve())[0], { ip: '10.0.0.3', port: 9042 });
  assert.equal(calls, 2);
});
