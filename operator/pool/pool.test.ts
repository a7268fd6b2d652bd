// The warm pool from the operator's side, against the real kube-apiserver: a pool
// Deployment per namespace and runtime while Functions it can serve exist (owned by
// all of them, gone with the last), and a pool pod a gateway reports as specialized
// adopted as the function's worker, then retired once the function's own workers
// are ready. No kubelet: pods are created as the ReplicaSet would, and Deployment
// status is written as the deployment controller would.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../crds/schema.ts';
import { makeDemandHandler, type FunctionDemand } from '../../lib/demand.ts';
import { makeLogger } from '../../lib/log.ts';
import { POOL_LABEL, SPECIALIZED_LABEL } from '../../lib/warm-pool.ts';
import {
  eventually,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../../test/support/kubernetes.ts';
import { FUNCTION_LABEL } from '../labels.ts';
import { defaultRuntimeImages, runOperator, type RunningOperator } from '../main.ts';

let kc: k8s.KubeConfig;
let custom: k8s.CustomObjectsApi;
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;
let demandServer: Server;
let op: RunningOperator;
let ns: string;
const demand: FunctionDemand[] = [];

const inline = { inline: { 'index.mjs': 'export const handler = async () => 1;' } };
const POOL = 'selfless-pool-nodejs20-x';

before(async () => {
  kc = await testKubeConfig();
  await installCrds(kc);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
  demandServer = createServer(makeDemandHandler(() => demand));
  await new Promise<void>((r) => demandServer.listen(0, '127.0.0.1', r));
  ns = await makeNamespace(kc, 'pool-op');
  op = runOperator({
    kc,
    identity: 'pool-op',
    leaseNamespace: ns,
    leaseName: 'selfless-operator',
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 300,
    watchNamespace: ns,
    gatewayUrl: 'http://selfless-gateway.selfless:8080',
    gatewayDemandUrl: `http://127.0.0.1:${(demandServer.address() as AddressInfo).port}`,
    tablesUrl: 'http://127.0.0.1:1',
    region: 'us-east-1',
    runtimeImages: defaultRuntimeImages('ghcr.io/selfless/runtime-', 'test'),
    agentImage: 'ghcr.io/selfless/selfless:test',
    demandIntervalMs: 200,
    scaleDownWindowMs: 60_000,
    maxReplicas: 50,
    workerToken: 'worker-token',
    pool: { sizes: { 'nodejs20.x': 2 }, cpuMillis: 1000, memoryMB: 1024 },
    log: makeLogger('operator', { level: 'warn' }),
  });
});

after(async () => {
  await op.stop();
  demandServer.close();
});

const createFunction = (name: string, spec: Record<string, unknown>) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functions',
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Function', metadata: { name }, spec },
  }) as Promise<{ metadata: k8s.V1ObjectMeta }>;
const deleteFunction = (name: string) =>
  custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functions',
    name,
  });
const readPool = () =>
  apps.readNamespacedDeployment({ namespace: ns, name: POOL }).catch((err: unknown) => {
    if (err instanceof k8s.ApiException && err.code === 404) return undefined;
    throw err;
  });

test('a pool Deployment exists while Functions it can serve do, owned by every one of them', async () => {
  const a = await createFunction('a', {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: inline,
  });
  await createFunction('img', { runtime: 'python3.12', handler: 'x.y', code: { imageURI: 'x:1' } });
  const pool = await eventually('the pool', async () => readPool(), 30_000);
  assert.equal(pool.spec?.replicas, 2);
  assert.deepEqual(pool.spec?.template.metadata?.labels?.[POOL_LABEL], 'nodejs20.x');
  const c = pool.spec!.template.spec!.containers[0]!;
  assert.deepEqual(c.args?.slice(0, 3), ['agent', '--pool', 'nodejs20.x']);
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(pool.spec!.template.spec!.automountServiceAccountToken, false);
  assert.deepEqual(
    pool.metadata?.ownerReferences?.map((o) => [o.name, o.uid, o.controller]),
    [['a', a.metadata.uid, false]],
  );
  // An image function has no pool; python3.12 has no size anyway.
  assert.equal(
    (await apps.listNamespacedDeployment({ namespace: ns })).items.some((d) =>
      d.metadata?.name?.startsWith('selfless-pool-python'),
    ),
    false,
  );
  await createFunction('b', { runtime: 'nodejs20.x', handler: 'index.handler', code: inline });
  await eventually(
    'both own it',
    async () => ((await readPool())?.metadata?.ownerReferences?.length === 2 ? true : undefined),
    30_000,
  );
  const token = await core.readNamespacedSecret({ namespace: ns, name: 'selfless-pool-token' });
  assert.equal(Buffer.from(token.data!.token!, 'base64').toString(), 'worker-token');
  await deleteFunction('b');
  await eventually(
    'b no longer owns it',
    async () => ((await readPool())?.metadata?.ownerReferences?.length === 1 ? true : undefined),
    30_000,
  );
});

test("a pod a gateway specialized is adopted as the function worker and retired once the function's own worker serves", async () => {
  const pod = await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: {
        name: 'pool-pod-1',
        labels: {
          'app.kubernetes.io/managed-by': 'selfless-operator',
          [POOL_LABEL]: 'nodejs20.x',
        },
      },
      spec: { containers: [{ name: 'worker', image: 'x' }] },
    },
  });
  assert.ok(pod.metadata?.uid);
  demand.push({
    namespace: ns,
    name: 'a',
    inFlight: 1,
    queued: 0,
    specializedPods: ['pool-pod-1'],
  });
  const adopted = await eventually(
    'adopted',
    async () => {
      const p = await core.readNamespacedPod({ namespace: ns, name: 'pool-pod-1' });
      return p.metadata?.labels?.[SPECIALIZED_LABEL] === 'true' ? p : undefined;
    },
    30_000,
  );
  assert.equal(adopted.metadata?.labels?.[FUNCTION_LABEL], 'a');
  assert.equal(adopted.metadata?.labels?.[POOL_LABEL], undefined);
  assert.deepEqual(
    adopted.metadata?.ownerReferences?.map((o) => [o.kind, o.name, o.controller]),
    [['Function', 'a', true]],
  );
  // Still needed: the function's own worker is not ready.
  const deployment = await eventually(
    'the function scaled up',
    async () => {
      const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-a' });
      return d.spec?.replicas === 1 ? d : undefined;
    },
    30_000,
  );
  assert.ok(deployment);
  assert.equal(
    (await core.readNamespacedPod({ namespace: ns, name: 'pool-pod-1' })).metadata
      ?.deletionTimestamp,
    undefined,
  );
  // A Ready pod is not enough (its runtime may still start): the gateways must see
  // the function's own worker ask for work.
  await apps.replaceNamespacedDeploymentStatus({
    namespace: ns,
    name: 'fn-a',
    body: {
      ...deployment,
      status: { replicas: 1, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 1 },
    },
  });
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(
    (await core.readNamespacedPod({ namespace: ns, name: 'pool-pod-1' })).metadata
      ?.deletionTimestamp,
    undefined,
  );
  demand[0]!.ownWorkers = 1;
  await eventually(
    'retired',
    async () =>
      core.readNamespacedPod({ namespace: ns, name: 'pool-pod-1' }).then(
        (p) => (p.metadata?.deletionTimestamp ? true : undefined),
        (err: unknown) => (err instanceof k8s.ApiException && err.code === 404 ? true : undefined),
      ),
    30_000,
  );
});

test('the pool goes when the last Function it served goes', async () => {
  demand.length = 0;
  await deleteFunction('a');
  await eventually('pool removed', async () => ((await readPool()) ? undefined : true), 30_000);
});
