// The chart's NetworkPolicies, enforced by the cluster's policy engine (kube-router
// here) and not just declared: a pod in a function namespace reaches the gateway and
// the table service but not Redis, which only the gateway may reach; a function's
// code does not reach the CQL store outside the cluster; with gateway.allowedClients
// set, a namespace outside it no longer reaches the gateway while function workers
// still do.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { parse } from 'yaml';
import {
  arnOf,
  deleteNamespace,
  e2eCluster,
  eventually,
  getJson,
  helm,
  kubectl,
  lambdaClient,
  makeNamespace,
  waitReady,
  type E2eCluster,
} from './support.ts';

const chart = join(import.meta.dirname, '..', '..', 'charts', 'selfless');
const appVersion = (
  parse(readFileSync(join(chart, 'Chart.yaml'), 'utf8')) as { appVersion: string }
).appVersion;

// Tries to connect for 12 s and reports "open" at the first success, or the error
// code of the last attempt ("timeout" when a policy drops the packets, ECONNREFUSED
// when it rejects them). Retrying makes "closed" mean closed for a while, not a new
// pod's address not yet in the policy engine's sets, which blocks it briefly.
const PROBE = `
const [host, port] = [process.argv[1], Number(process.argv[2])];
const deadline = Date.now() + 12000;
const attempt = () => {
  const s = require('net').connect(port, host);
  const fail = (code) => {
    s.destroy();
    if (Date.now() > deadline) { console.log(code); process.exit(0); }
    setTimeout(attempt, 500);
  };
  s.setTimeout(2000, () => fail('timeout'));
  s.on('connect', () => { console.log('open'); process.exit(0); });
  s.on('error', (e) => fail(e.code));
};
attempt();
`;

describe('network policies on a real cluster', () => {
  let c: E2eCluster;
  let ns: string;
  let n = 0;

  /** Runs a probe pod in `namespace` that tries host:port and returns what it saw. */
  async function reach(host: string, port: number, namespace = ns): Promise<string> {
    const name = `probe-${n++}`;
    const image = `ghcr.io/selfless/selfless:${appVersion}`;
    await kubectl(c, ['apply', '-n', namespace, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [
            {
              name: 'probe',
              image,
              imagePullPolicy: 'IfNotPresent',
              command: ['node', '-e', PROBE, host, String(port)],
            },
          ],
        },
      }),
    });
    await eventually(`probe ${name} done`, async () => {
      const pod = await getJson<{ status?: { phase?: string } }>(c, ['pod', name, '-n', namespace]);
      return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed' ? true : undefined;
    });
    return (await kubectl(c, ['logs', name, '-n', namespace])).trim();
  }

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-net');
  });

  after(async () => {
    await deleteNamespace(c, ns);
  });

  test('a pod in a function namespace reaches the gateway and the table service', async () => {
    assert.equal(await reach(`${c.release}-gateway.${c.namespace}.svc`, 8080), 'open');
    assert.equal(await reach(`${c.release}-tables.${c.namespace}.svc`, 8000), 'open');
  });

  test('no pod but the gateway reaches Redis', async () => {
    const got = await reach(`${c.release}-redis.${c.namespace}.svc`, 6379);
    assert.notEqual(got, 'open', 'Redis is closed to a function namespace');
    // The gateway's own path to Redis is proven by every async test (202 = stored).
  });

  test("no function's code reaches the CQL store outside the cluster, while the same host's other ports stay open to it", async () => {
    // This cluster's CQL is the host's Cassandra (scylla.enabled=false): there is no
    // pod for an ingress policy, so the operator closes it in each worker's egress.
    const values = JSON.parse(
      await helm(c, ['get', 'values', c.release, '-n', c.namespace, '-o', 'json']),
    ) as { scylla?: { enabled?: boolean; external?: { contactPoints?: string } } };
    assert.equal(values.scylla?.enabled, false, 'the test cluster uses an external CQL store');
    const [cqlHost, cqlPort] = values.scylla!.external!.contactPoints!.split(',')[0]!.split(':');
    const gatewayNodePort = Number(new URL(c.gatewayUrl).port);
    await kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Function',
        metadata: { name: 'prober' },
        spec: {
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          timeout: 30,
          code: {
            inline: {
              // The probe above, as a handler: "open", "timeout" or the error code.
              'index.mjs': `
import net from 'node:net';
const once = (host, port) => new Promise((done) => {
  const s = net.connect(port, host);
  s.setTimeout(2000, () => { s.destroy(); done('timeout'); });
  s.on('connect', () => { s.destroy(); done('open'); });
  s.on('error', (e) => done(e.code));
});
export const handler = async ({ host, port }) => {
  let got;
  for (let i = 0; i < 5; i++) {
    got = await once(host, port);
    if (got === 'open') break;
  }
  return got;
};`,
            },
          },
        },
      }),
    });
    await waitReady(c, 'function', 'prober', ns, ['WorkersAvailable', 'ScaledToZero']);
    const probe = async (host: string, port: number) => {
      const out = await lambdaClient(c).send(
        new InvokeCommand({
          FunctionName: arnOf(c, ns, 'prober'),
          Payload: JSON.stringify({ host, port }),
        }),
      );
      assert.equal(out.FunctionError, undefined);
      return JSON.parse(Buffer.from(out.Payload!).toString()) as string;
    };
    const policy = await getJson<{ spec: { policyTypes: string[] } }>(c, [
      'networkpolicy',
      'fn-prober-egress',
      '-n',
      ns,
    ]);
    assert.deepEqual(policy.spec.policyTypes, ['Egress']);
    assert.equal(await probe(cqlHost!, gatewayNodePort), 'open', 'the host stays reachable');
    assert.notEqual(await probe(cqlHost!, Number(cqlPort)), 'open', 'CQL is closed to functions');
    // The table service's own path to CQL is proven by every table test.
  });

  test('with gateway.allowedClients set, a namespace outside it cannot reach the gateway, one inside can, and a function still answers its first call', async (t) => {
    const gateway = `${c.release}-gateway.${c.namespace}.svc`;
    const allowed = await makeNamespace(c, 'e2e-caller');
    await kubectl(c, ['label', 'namespace', allowed, 'selfless.dev/e2e-caller=allowed']);
    // Calls through the NodePort arrive from the node: a user admits their ingress so.
    const node = new URL(c.gatewayUrl).hostname;
    const clients = [
      { namespaceSelector: { matchLabels: { 'selfless.dev/e2e-caller': 'allowed' } } },
      { ipBlock: { cidr: `${node}/32` } },
    ];
    const upgrade = (value: unknown[]) =>
      helm(c, [
        'upgrade',
        c.release,
        chart,
        '--namespace',
        c.namespace,
        '--reuse-values',
        '--set-json',
        `gateway.allowedClients=${JSON.stringify(value)}`,
        '--wait',
        '--timeout',
        '5m',
      ]);
    t.after(async () => {
      await upgrade([]);
      await deleteNamespace(c, allowed);
    });
    await upgrade(clients);

    // The policy engine applies the change on its own schedule: wait for it to close.
    await eventually(
      'the gateway closed to a namespace outside allowedClients',
      async () => ((await reach(gateway, 8080)) !== 'open' ? true : undefined),
      120_000,
      0,
    );
    assert.equal(await reach(gateway, 8080, allowed), 'open');

    // A worker in this (not allowed) namespace still fetches its event from the gateway.
    await kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Function',
        metadata: { name: 'echo' },
        spec: {
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          timeout: 30,
          code: { inline: { 'index.mjs': 'export const handler = async (e) => ({ echo: e });' } },
        },
      }),
    });
    await waitReady(c, 'function', 'echo', ns, ['WorkersAvailable', 'ScaledToZero']);
    const out = await lambdaClient(c).send(
      new InvokeCommand({ FunctionName: arnOf(c, ns, 'echo'), Payload: '{"n":1}' }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined);
    assert.deepEqual(JSON.parse(Buffer.from(out.Payload!).toString()), { echo: { n: 1 } });
  });
});
