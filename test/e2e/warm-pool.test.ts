// The warm pool on the real cluster, turned on for nodejs20.x (a pool of one) by
// `helm upgrade` for this file and off again after it: a function with no workers is answered by the namespace's pool
// worker, under the function's hardening; the operator adopts that pod (the
// function's labels and owner) and the pool refills; once the function's own
// worker serves, the pool pod goes; and the pool goes with the last function.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
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

const POOL = 'selfless-pool-nodejs20-x';

interface Pod {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
    deletionTimestamp?: string;
  };
  status?: { conditions?: { type: string; status: string }[] };
}

const handler = `import { hostname } from 'node:os';
import { existsSync, writeFileSync } from 'node:fs';
const tryWrite = (p) => { try { writeFileSync(p, 'x'); return 'written'; } catch (e) { return e.code; } };
export const handler = async () => ({
  host: hostname(),
  uid: process.getuid(),
  root: tryWrite('/etc/selfless-probe'),
  tmp: tryWrite('/tmp/probe'),
  token: existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'),
  mine: process.env.MINE,
});`;

describe('warm pool on a real cluster', () => {
  let c: E2eCluster;
  let ns: string;

  const apply = (name: string, variables: Record<string, string>) =>
    kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Function',
        metadata: { name },
        spec: {
          runtime: 'nodejs20.x',
          handler: 'index.handler',
          environment: { variables },
          code: { inline: { 'index.mjs': handler } },
        },
      }),
    });
  const pods = async (selector: string) =>
    (await getJson<{ items: Pod[] }>(c, ['pods', '-n', ns, '-l', selector])).items.filter(
      (p) => !p.metadata.deletionTimestamp,
    );
  const readyPoolPods = async () =>
    (await pods('selfless.dev/pool=nodejs20.x')).filter((p) =>
      p.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'),
    );

  const poolSize = (n: number) =>
    helm(c, [
      'upgrade',
      c.release,
      join(import.meta.dirname, '..', '..', 'charts', 'selfless'),
      '--namespace',
      c.namespace,
      '--reuse-values',
      '--set',
      `pool.sizes.nodejs20\\.x=${n}`,
      '--wait',
      '--timeout',
      '10m',
    ]);

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-pool');
    await poolSize(1);
  });
  after(async () => {
    await deleteNamespace(c, ns);
    await poolSize(0);
  });

  test('the first call of a function with no workers is answered by the pool worker, hardened as a worker, which then becomes the function’s own', async () => {
    await apply('first', { MINE: 'first' });
    await waitReady(c, 'function', 'first', ns, ['ScaledToZero']);
    const [poolPod] = await eventually('a ready pool worker', async () => {
      const ready = await readyPoolPods();
      return ready.length > 0 ? ready : undefined;
    });
    const t0 = Date.now();
    const out = await lambdaClient(c).send(
      new InvokeCommand({ FunctionName: arnOf(c, ns, 'first'), Payload: '{}' }),
    );
    const ms = Date.now() - t0;
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    const got = JSON.parse(Buffer.from(out.Payload!).toString()) as Record<string, unknown>;
    assert.equal(got.host, poolPod!.metadata.name, `answered by the pool pod (in ${ms} ms)`);
    assert.deepEqual(
      { uid: got.uid, root: got.root, tmp: got.tmp, token: got.token, mine: got.mine },
      { uid: 65532, root: 'EROFS', tmp: 'written', token: false, mine: 'first' },
    );
    // Adopted: the function's labels and owner; the pool starts a replacement.
    const adopted = await eventually('the pool pod adopted', async () => {
      const [p] = await pods('selfless.dev/function=first,selfless.dev/specialized=true');
      return p;
    });
    assert.equal(adopted.metadata.name, poolPod!.metadata.name);
    assert.equal(adopted.metadata.labels?.['selfless.dev/pool'], undefined);
    assert.deepEqual(
      adopted.metadata.ownerReferences?.map((o) => [o.kind, o.name]),
      [['Function', 'first']],
    );
    await eventually('the pool refilled', async () => {
      const ready = await readyPoolPods();
      return ready.some((p) => p.metadata.name !== poolPod!.metadata.name) ? true : undefined;
    });
    // Once the function's own worker serves, the pool pod goes; calls keep answering.
    await eventually('the pool pod retired', async () =>
      (await pods('selfless.dev/specialized=true')).length === 0 ? true : undefined,
    );
    const again = await lambdaClient(c).send(
      new InvokeCommand({ FunctionName: arnOf(c, ns, 'first'), Payload: '{}' }),
    );
    const host = (JSON.parse(Buffer.from(again.Payload!).toString()) as { host: string }).host;
    assert.ok(host.startsWith('fn-first-'), `answered by the function's own worker: ${host}`);
  });

  test('the pool goes with the last function it could serve', async () => {
    await kubectl(c, ['delete', 'functions.selfless.dev', 'first', '-n', ns, '--wait=true']);
    await eventually('the pool removed', async () => {
      const out = await kubectl(c, ['get', 'deployments', '-n', ns, '-o', 'name']);
      return out.includes(POOL) ? undefined : true;
    });
  });
});
