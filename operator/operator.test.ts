// The operator against the real kube-apiserver: the objects it creates, updates and
// removes, the status it reports, demand-driven scaling, convergence after a
// restart, leader election between two replicas, and Tables through a DynamoDB API.
// There is no kubelet or deployment controller: where a test needs a Deployment's
// status, it writes that status itself, as the deployment controller would.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION } from '../crds/schema.ts';
import {
  eventually,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../test/support/kubernetes.ts';
import { makeDemandHandler, type FunctionDemand } from '../lib/demand.ts';
import { accountIdForNamespace } from '../lib/names.ts';
import { layerObjectName } from '../lib/layer-version.ts';
import { LAST_VERSION_ANNOTATION } from '../lib/function-version.ts';
import dynalite from 'dynalite';
import { makeLogger } from '../lib/log.ts';
import {
  defaultRuntimeImages,
  runOperator,
  type OperatorOptions,
  type RunningOperator,
} from './main.ts';
import { MANAGED_SELECTOR } from './labels.ts';

let kc: k8s.KubeConfig;
let custom: k8s.CustomObjectsApi;
let apps: k8s.AppsV1Api;
let core: k8s.CoreV1Api;
let demandServer: Server;
let demandUrl: string;
let tablesServer: Server;
let tablesUrl: string;
const demand: FunctionDemand[] = [];
const running: RunningOperator[] = [];

before(async () => {
  kc = await testKubeConfig();
  await installCrds(kc);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  core = kc.makeApiClient(k8s.CoreV1Api);
  // The gateway side of the demand contract, served by the gateway's own handler.
  demandServer = createServer(makeDemandHandler(() => demand));
  await new Promise<void>((r) => demandServer.listen(0, '127.0.0.1', r));
  demandUrl = `http://127.0.0.1:${(demandServer.address() as AddressInfo).port}`;
  tablesServer = dynalite({ createTableMs: 50, deleteTableMs: 50, updateTableMs: 50 });
  await new Promise<void>((r) => tablesServer.listen(0, '127.0.0.1', r));
  tablesUrl = `http://127.0.0.1:${(tablesServer.address() as AddressInfo).port}`;
});

after(async () => {
  await Promise.all(running.map((o) => o.stop()));
  demandServer.close();
  tablesServer.close();
});

function start(namespace: string, overrides: Partial<OperatorOptions> = {}): RunningOperator {
  const identity = overrides.identity ?? `op-${running.length}`;
  const op = runOperator({
    kc,
    identity,
    leaseNamespace: namespace,
    leaseName: 'selfless-operator',
    leaseDurationMs: 3_000,
    renewDeadlineMs: 2_000,
    retryPeriodMs: 300,
    watchNamespace: namespace,
    gatewayUrl: 'http://selfless-gateway.selfless:8080',
    gatewayDemandUrl: demandUrl,
    tablesUrl,
    region: 'us-east-1',
    runtimeImages: defaultRuntimeImages('ghcr.io/selfless/runtime-', 'test'),
    agentImage: 'ghcr.io/selfless/selfless:test',
    demandIntervalMs: 200,
    scaleDownWindowMs: 1_500,
    maxReplicas: 50,
    workerToken: 'worker-token',
    log: makeLogger('operator', { level: 'warn', base: { identity } }),
    ...overrides,
  });
  running.push(op);
  return op;
}

async function stop(op: RunningOperator): Promise<void> {
  await op.stop();
  running.splice(running.indexOf(op), 1);
}

const fnApi = (namespace: string) => ({
  group: GROUP,
  version: VERSION,
  namespace,
  plural: 'functions',
});
const tableApi = (namespace: string) => ({
  group: GROUP,
  version: VERSION,
  namespace,
  plural: 'tables',
});

type Resource = {
  metadata: k8s.V1ObjectMeta;
  spec: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason: string; message: string }[];
    replicas?: number;
    desiredReplicas?: number;
    demand?: number;
    functionArn?: string;
    lastError?: string;
    tableStatus?: string;
    tableName?: string;
  };
};

async function createFunction(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): Promise<Resource> {
  return (await custom.createNamespacedCustomObject({
    ...fnApi(namespace),
    body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Function', metadata: { name }, spec },
  })) as Resource;
}

async function getFunction(namespace: string, name: string): Promise<Resource> {
  return (await custom.getNamespacedCustomObject({ ...fnApi(namespace), name })) as Resource;
}

async function patchSpec(
  api: ReturnType<typeof fnApi>,
  name: string,
  change: (spec: Record<string, unknown>) => void,
) {
  await eventually(`spec of ${name} updated`, async () => {
    const obj = (await custom.getNamespacedCustomObject({ ...api, name })) as Resource;
    change(obj.spec);
    await custom.replaceNamespacedCustomObject({ ...api, name, body: obj });
    return true;
  });
}

const ready = (r: Resource) => r.status?.conditions?.find((c) => c.type === 'Ready');

async function waitReady(
  namespace: string,
  name: string,
  reason: string,
  extra: (r: Resource) => boolean = () => true,
) {
  return eventually(`Function ${name} Ready reason ${reason}`, async () => {
    const r = await getFunction(namespace, name);
    return ready(r)?.reason === reason &&
      r.status?.observedGeneration === r.metadata.generation &&
      extra(r)
      ? r
      : undefined;
  });
}

async function managedObjects(namespace: string): Promise<string[]> {
  const [deps, cms, secrets] = await Promise.all([
    apps.listNamespacedDeployment({ namespace, labelSelector: MANAGED_SELECTOR }),
    core.listNamespacedConfigMap({ namespace, labelSelector: MANAGED_SELECTOR }),
    core.listNamespacedSecret({ namespace, labelSelector: MANAGED_SELECTOR }),
  ]);
  return [
    ...deps.items.map((d) => `Deployment/${d.metadata!.name}`),
    ...cms.items.map((c) => `ConfigMap/${c.metadata!.name}`),
    ...secrets.items.map((c) => `Secret/${c.metadata!.name}`),
  ].sort();
}

const inline = {
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  code: {
    inline: { 'index.mjs': 'export const handler = async () => 1', 'lib/util.mjs': 'export {}' },
  },
};

describe('Function', () => {
  let ns: string;
  before(async () => {
    ns = await makeNamespace(kc, 'op-fn');
    start(ns, { resyncMs: 500 });
  });

  test('an inline function gets exactly a code ConfigMap and a worker Deployment, owned by it, scaled to zero', async () => {
    const fn = await createFunction(ns, 'hello', inline);
    const r = await waitReady(ns, 'hello', 'ScaledToZero');
    assert.equal(ready(r)?.status, 'True');
    assert.equal(
      r.status?.functionArn,
      `arn:aws:lambda:us-east-1:${accountIdForNamespace(ns)}:function:hello`,
    );
    assert.deepEqual(await managedObjects(ns), [
      'ConfigMap/fn-hello-code',
      'ConfigMap/fn-hello-config',
      'Deployment/fn-hello',
      'Secret/fn-hello-token',
    ]);
    const dep = await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-hello' });
    assert.equal(dep.spec?.replicas, 0);
    assert.equal(dep.metadata?.ownerReferences?.[0]?.uid, fn.metadata.uid);
    assert.equal(dep.metadata?.ownerReferences?.[0]?.controller, true);
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'fn-hello-code' });
    assert.equal(cm.metadata?.ownerReferences?.[0]?.uid, fn.metadata.uid);
    assert.equal(cm.data?.['index.mjs'], 'export const handler = async () => 1');
    const pod = dep.spec!.template.spec!;
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    assert.deepEqual(pod.containers[0]!.args!.slice(0, 5), [
      'agent',
      // Agents pull from every gateway replica: the headless Service's name.
      '--gateway',
      demandUrl,
      '--function',
      'hello',
    ]);
    const token = pod.containers[0]!.env!.find((e) => e.name === 'SELFLESS_WORKER_TOKEN');
    assert.deepEqual(
      { ...token?.valueFrom?.secretKeyRef },
      { name: 'fn-hello-token', key: 'token' },
    );
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'fn-hello-token' });
    assert.equal(Buffer.from(secret.data!.token!, 'base64').toString(), 'worker-token');
  });

  test('a spec change updates the Deployment in place and observedGeneration follows', async () => {
    await waitReady(ns, 'hello', 'ScaledToZero');
    await patchSpec(fnApi(ns), 'hello', (s) => (s.memorySize = 1769));
    await eventually('Deployment has 1 vCPU and 1769 MiB + agent', async () => {
      const dep = await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-hello' });
      const res = dep.spec?.template.spec?.containers[0]?.resources;
      return res?.limits?.cpu === '1' || res?.limits?.cpu === '1000m' ? res : undefined;
    });
    const r = await waitReady(ns, 'hello', 'ScaledToZero');
    assert.equal(r.metadata.generation, 2);
    assert.equal(r.status?.observedGeneration, 2);
  });

  test('provisioned concurrency is the floor: Ready waits until that many workers are available', async () => {
    await createFunction(ns, 'warm', {
      ...inline,
      provisionedConcurrentExecutions: 2,
      reservedConcurrentExecutions: 4,
    });
    const r = await waitReady(ns, 'warm', 'WorkersStarting');
    assert.equal(ready(r)?.status, 'False');
    assert.equal(
      (await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-warm' })).spec?.replicas,
      2,
    );
    // What the deployment controller would report once two pods are ready.
    await apps.replaceNamespacedDeploymentStatus({
      namespace: ns,
      name: 'fn-warm',
      body: {
        ...(await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-warm' })),
        status: { replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 },
      },
    });
    const after = await waitReady(ns, 'warm', 'WorkersAvailable');
    assert.equal(ready(after)?.status, 'True');
    assert.equal(after.status?.replicas, 2);
  });

  test('demand reported by the gateway scales workers up, capped by the reservation, and back down after the window', async () => {
    await waitReady(ns, 'warm', 'WorkersAvailable');
    demand.push({ namespace: ns, name: 'warm', inFlight: 2, queued: 1 });
    demand.push({ namespace: ns, name: 'hello', inFlight: 1, queued: 2 });
    const replicas = async (name: string) =>
      (await apps.readNamespacedDeployment({ namespace: ns, name })).spec?.replicas;
    await eventually('hello scales to 3', async () => (await replicas('fn-hello')) === 3);
    await eventually(
      'warm scales to its reservation, 4... then 3 wanted',
      async () => (await replicas('fn-warm')) === 3,
    );
    demand[0]!.queued = 5;
    await eventually(
      'warm capped at reservedConcurrentExecutions 4',
      async () => (await replicas('fn-warm')) === 4,
    );
    const r = await getFunction(ns, 'hello');
    assert.equal(r.status?.demand, 3);
    demand.splice(0);
    await eventually(
      'hello back to zero after the window',
      async () => (await replicas('fn-hello')) === 0,
      10_000,
    );
    await eventually(
      'warm back to its provisioned floor',
      async () => (await replicas('fn-warm')) === 2,
      10_000,
    );
  });

  test('switching inline code to an image removes the code ConfigMap and runs the agent beside the image', async () => {
    await createFunction(ns, 'img', inline);
    await waitReady(ns, 'img', 'ScaledToZero');
    assert.ok((await managedObjects(ns)).includes('ConfigMap/fn-img-code'));
    await patchSpec(fnApi(ns), 'img', (s) => (s.code = { imageURI: 'registry.example/img:1' }));
    await eventually(
      'code ConfigMap removed',
      async () => !(await managedObjects(ns)).includes('ConfigMap/fn-img-code'),
    );
    const pod = (await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-img' })).spec!
      .template.spec!;
    assert.equal(pod.containers.length, 1);
    assert.ok(!pod.volumes?.some((v) => v.name === 'code'), 'no code volume is left');
    assert.equal(pod.containers[0]!.image, 'registry.example/img:1');
    assert.equal(pod.initContainers?.[0]?.name, 'agent');
    assert.equal(pod.initContainers?.[0]?.restartPolicy, 'Always');
    // The agent cannot kill the image's runtime; the kubelet restarts it when the
    // agent's /healthz says so. No shared process namespace: it would expose the
    // agent's environment (the worker token) to the function's code.
    assert.equal(pod.shareProcessNamespace, undefined);
    const probe = pod.containers[0]!.livenessProbe?.httpGet;
    assert.deepEqual([probe?.path, probe?.port], ['/healthz', 9002]);
    assert.ok(pod.initContainers?.[0]?.args?.join(' ').includes('--liveness-port 9002'));
  });

  test('a missing code ConfigMap and a Deployment owned by someone else are reported, not overwritten', async () => {
    await createFunction(ns, 'refcode', { ...inline, code: { configMapRef: { name: 'nope' } } });
    const r1 = await waitReady(ns, 'refcode', 'CodeNotFound');
    assert.match(r1.status?.lastError ?? '', /ConfigMap nope not found/);

    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'fn-taken' },
        spec: {
          selector: { matchLabels: { app: 'other' } },
          template: {
            metadata: { labels: { app: 'other' } },
            spec: { containers: [{ name: 'c', image: 'other' }] },
          },
        },
      },
    });
    await createFunction(ns, 'taken', inline);
    const r2 = await waitReady(ns, 'taken', 'ResourceConflict');
    assert.match(
      ready(r2)?.message ?? '',
      /Deployment fn-taken exists and belongs to someone else/,
    );
    const other = await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-taken' });
    assert.equal(other.spec?.template.spec?.containers[0]?.image, 'other');
  });

  test('an edit to a referenced code ConfigMap rolls the workers at the next periodic resync', async () => {
    const codeHash = async () =>
      (await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-bycm' })).spec!.template
        .metadata!.annotations?.['selfless.dev/code-hash'];
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: {
        metadata: { name: 'bycm-code' },
        data: { 'index.mjs': 'export const handler = async () => 1' },
      },
    });
    await createFunction(ns, 'bycm', { ...inline, code: { configMapRef: { name: 'bycm-code' } } });
    await waitReady(ns, 'bycm', 'ScaledToZero');
    const before = await codeHash();
    assert.ok(before, 'the Deployment carries the code hash');
    // Nothing watches the user's ConfigMap: only the resync notices the edit.
    await core.replaceNamespacedConfigMap({
      namespace: ns,
      name: 'bycm-code',
      body: {
        metadata: { name: 'bycm-code' },
        data: { 'index.mjs': 'export const handler = async () => 2' },
      },
    });
    await eventually(
      'the code hash follows the edit',
      async () => (await codeHash()) !== before,
      10_000,
    );
  });

  test('a spec the API server admits but the model refuses is reported as InvalidSpec, with no workers', async () => {
    await createFunction(ns, 'badcron', {
      ...inline,
      triggers: [{ schedule: { expression: 'cron(61 12 * * ? *)' } }],
    });
    const r = await waitReady(ns, 'badcron', 'InvalidSpec');
    assert.match(r.status?.lastError ?? '', /spec\.triggers\[0\]\.schedule\.expression/);
    assert.ok(!(await managedObjects(ns)).includes('Deployment/fn-badcron'));
  });

  test('transitions are recorded as Kubernetes Events on the Function', async () => {
    const events = await eventually('events for warm', async () => {
      const list = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: 'involvedObject.name=warm',
      });
      const reasons = list.items.map((e) => e.reason);
      return reasons.includes('WorkersAvailable') && reasons.includes('Scaled')
        ? reasons
        : undefined;
    });
    assert.ok(events.includes('WorkersStarting'), events.join(','));
  });

  test('the operator counts its reconciles and reports itself leader', async () => {
    const op = running.find((o) => o.isLeader)!;
    const text = await op.metrics.registry.metrics();
    assert.match(
      text,
      /selfless_operator_reconciles_total\{kind="Function",result="(ok|requeue)"\} [1-9]/,
    );
    assert.match(text, /selfless_operator_leader 1/);
    assert.match(
      text,
      /selfless_operator_reconcile_duration_seconds_count\{kind="Function"\} [1-9]/,
    );
  });
});

describe('FunctionVersion', () => {
  let ns: string;
  before(async () => {
    ns = await makeNamespace(kc, 'op-fnv');
    start(ns);
  });

  test("a published version runs on a Deployment of its own, owned by it, polling key:N, scaled by the version's demand", async () => {
    const fn = await createFunction(ns, 'rolled', inline);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'functionversions',
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'FunctionVersion',
        metadata: {
          name: 'rolled-1',
          ownerReferences: [
            {
              apiVersion: `${GROUP}/${VERSION}`,
              kind: 'Function',
              name: 'rolled',
              uid: fn.metadata.uid!,
            },
          ],
        },
        spec: { functionName: 'rolled', version: '1', description: '', definition: inline },
      },
    });
    const dep = await eventually('the version has its Deployment', async () =>
      apps.readNamespacedDeployment({ namespace: ns, name: 'fnv-rolled-1' }).catch(() => undefined),
    );
    assert.deepEqual(
      dep.metadata?.ownerReferences?.map((o) => `${o.kind}/${o.name}`),
      ['FunctionVersion/rolled-1'],
    );
    assert.equal(dep.spec?.replicas, 0);
    assert.equal(dep.spec?.selector.matchLabels?.['selfless.dev/version'], '1');
    const args = dep.spec!.template.spec!.containers[0]!.args!;
    assert.deepEqual(args.slice(args.indexOf('--version'), args.indexOf('--version') + 2), [
      '--version',
      '1',
    ]);
    // $LATEST's Deployment is another one, and it does not select the version's pods.
    const latest = await eventually('$LATEST has its Deployment', async () =>
      apps.readNamespacedDeployment({ namespace: ns, name: 'fn-rolled' }).catch(() => undefined),
    );
    assert.equal(latest.spec?.selector.matchLabels?.['selfless.dev/version'], undefined);
    assert.notEqual(
      dep.spec?.template.metadata?.labels?.['app.kubernetes.io/instance'],
      latest.spec?.template.metadata?.labels?.['app.kubernetes.io/instance'],
    );

    demand.push({ namespace: ns, name: 'rolled:1', inFlight: 1, queued: 1 });
    try {
      await eventually('the version scales on its own demand', async () =>
        (await apps.readNamespacedDeployment({ namespace: ns, name: 'fnv-rolled-1' })).spec
          ?.replicas === 2
          ? true
          : undefined,
      );
      assert.equal(
        (await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-rolled' })).spec?.replicas,
        0,
      );
    } finally {
      demand.splice(0);
    }
    const status = await eventually('the version has a status', async () => {
      const v = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'functionversions',
        name: 'rolled-1',
      })) as Resource;
      return v.status?.functionArn ? v.status : undefined;
    });
    assert.match(status.functionArn!, /:function:rolled:1$/);
  });

  test("a version's provisioned floor comes from its Function's provisioned concurrency configs, by version and through an alias", async () => {
    const replicas = async () =>
      (await apps.readNamespacedDeployment({ namespace: ns, name: 'fnv-rolled-1' })).spec?.replicas;
    await patchSpec(fnApi(ns), 'rolled', (spec) => {
      spec.aliases = [{ name: 'live', functionVersion: '1' }];
      spec.provisionedConcurrencyConfigs = [
        { qualifier: 'live', provisionedConcurrentExecutions: 2 },
      ];
    });
    await eventually('version 1 keeps 2 workers for its alias', async () =>
      (await replicas()) === 2 ? true : undefined,
    );
    await patchSpec(fnApi(ns), 'rolled', (spec) => {
      delete spec.provisionedConcurrencyConfigs;
    });
    await eventually('and none once the config is gone', async () =>
      (await replicas()) === 0 ? true : undefined,
    );
  });

  test('publish: true makes a version of every change of code or configuration, not of function-level settings, and status lists versions and aliases', async () => {
    await createFunction(ns, 'auto', { ...inline, publish: true });
    const versionsOf = async () =>
      (
        (await custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: 'functionversions',
        })) as { items: { metadata: { name: string } }[] }
      ).items
        .map((v) => v.metadata.name)
        .filter((n) => n.startsWith('auto-'))
        .sort();
    await eventually('version 1 is published', async () =>
      (await versionsOf()).join() === 'auto-1' ? true : undefined,
    );
    await patchSpec(fnApi(ns), 'auto', (spec) => {
      spec.memorySize = 256;
    });
    await eventually('a configuration change publishes version 2', async () =>
      (await versionsOf()).join() === 'auto-1,auto-2' ? true : undefined,
    );
    await patchSpec(fnApi(ns), 'auto', (spec) => {
      spec.reservedConcurrentExecutions = 5;
      spec.aliases = [
        {
          name: 'live',
          functionVersion: '2',
          routingConfig: { additionalVersionWeights: { '1': 0.5 } },
        },
      ];
    });
    const r = await eventually('status lists versions and aliases', async () => {
      const got = await getFunction(ns, 'auto');
      const status = got.status as { versions?: string[]; aliases?: unknown[] } | undefined;
      return got.status?.observedGeneration === got.metadata.generation && status?.aliases?.length
        ? status
        : undefined;
    });
    assert.deepEqual(r.versions, ['1', '2']);
    assert.deepEqual(r.aliases, [
      { name: 'live', functionVersion: '2', additionalVersionWeights: { '1': 0.5 } },
    ]);
    assert.deepEqual(
      await versionsOf(),
      ['auto-1', 'auto-2'],
      'a reservation is not a new version',
    );
  });

  test("publish: true never gives a deleted version's number again: it takes the Function's count, as PublishVersion does", async () => {
    await createFunction(ns, 'counted', { ...inline, publish: true });
    const versionsOf = async () =>
      (
        (await custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: 'functionversions',
        })) as { items: { metadata: { name: string } }[] }
      ).items
        .map((v) => v.metadata.name)
        .filter((n) => n.startsWith('counted-'))
        .sort();
    const settled = (want: string) =>
      eventually(`versions ${want}`, async () =>
        (await versionsOf()).join() === want ? true : undefined,
      );
    await settled('counted-1');
    await patchSpec(fnApi(ns), 'counted', (spec) => {
      spec.memorySize = 256;
    });
    await settled('counted-1,counted-2');
    await custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'functionversions',
      name: 'counted-2',
    });
    // $LATEST differs from the newest version left (1), so it is published again, under 3.
    await settled('counted-1,counted-3');
    await patchSpec(fnApi(ns), 'counted', (spec) => {
      spec.code = { inline: { 'index.mjs': 'export const handler = async () => 2' } };
    });
    await settled('counted-1,counted-3,counted-4');
    const fn = await getFunction(ns, 'counted');
    assert.equal(fn.metadata.annotations?.[LAST_VERSION_ANNOTATION], '4');
    const r = await eventually('status lists the versions', async () => {
      const got = await getFunction(ns, 'counted');
      const status = got.status as { versions?: string[] } | undefined;
      return status?.versions?.join() === '1,3,4' ? status : undefined;
    });
    assert.deepEqual(r.versions, ['1', '3', '4']);
  });
});

describe('layers', () => {
  let ns: string;
  before(async () => {
    ns = await makeNamespace(kc, 'op-layers');
    start(ns);
  });

  test("a function's layers are copied beside it in order and extracted into /opt before its worker starts; a missing one is LayerNotFound until published", async () => {
    const account = accountIdForNamespace(ns);
    const arn = (name: string, v: number) =>
      `arn:aws:lambda:us-east-1:${account}:layer:${name}:${v}`;
    await createFunction(ns, 'layered', {
      ...inline,
      layers: [arn('Shared_Libs', 1), arn('tools', 3)],
    });
    const blocked = await waitReady(ns, 'layered', 'LayerNotFound');
    assert.match(ready(blocked)!.message, /layer:Shared_Libs:1 not found/);

    const publish = (name: string, version: number, zip: string) =>
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: ns,
        plural: 'layerversions',
        body: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: 'LayerVersion',
          metadata: { name: layerObjectName(name, version) },
          spec: {
            layerName: name,
            version,
            createdDate: '2026-12-03T12:00:00.000+0000',
            content: { zipFile: zip, codeSha256: 'x', codeSize: 1, unzippedSize: 1 },
            policy: { revisionId: 'r', statements: [] },
          },
        },
      });
    await publish('Shared_Libs', 1, 'b25l');
    await publish('tools', 3, 'dHdv');
    await waitReady(ns, 'layered', 'ScaledToZero');
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'fn-layered-layers' });
    assert.deepEqual(cm.binaryData, {
      '0.zip': 'b25l',
      '1.zip': 'dHdv',
    });
    const pod = (await apps.readNamespacedDeployment({ namespace: ns, name: 'fn-layered' })).spec!
      .template.spec!;
    assert.deepEqual(
      pod.initContainers?.map((c) => [c.name, c.args?.slice(2).join(' ')]),
      [
        ['extract-layer-0', '/var/selfless/layers/0.zip /opt'],
        ['extract-layer-1', '/var/selfless/layers/1.zip /opt'],
      ],
    );
    const worker = pod.containers.find((c) => c.name === 'worker')!;
    assert.ok(worker.volumeMounts?.some((m) => m.mountPath === '/opt' && m.readOnly));

    await patchSpec(fnApi(ns), 'layered', (spec) => {
      delete spec.layers;
    });
    await eventually('the layers ConfigMap goes with the layers', async () =>
      core.readNamespacedConfigMap({ namespace: ns, name: 'fn-layered-layers' }).then(
        () => undefined,
        () => true,
      ),
    );
  });
});

describe('protected storage', () => {
  test("with external storage protected, each function's workers get an egress policy; it comes back when deleted and goes when protection is off", async () => {
    const ns = await makeNamespace(kc, 'op-egress');
    const net = kc.makeApiClient(k8s.NetworkingV1Api);
    const read = () =>
      net
        .readNamespacedNetworkPolicy({ namespace: ns, name: 'fn-f-egress' })
        .catch(() => undefined);
    let op = start(ns, { protectedEndpoints: [{ host: '192.0.2.50', port: 9042 }] });
    const fn = await createFunction(ns, 'f', inline);
    await waitReady(ns, 'f', 'ScaledToZero');
    const policy = (await read())!;
    assert.equal(policy.metadata?.ownerReferences?.[0]?.uid, fn.metadata.uid);
    assert.deepEqual(policy.spec?.podSelector?.matchLabels?.['selfless.dev/function'], 'f');
    // The client returns class instances: compare their fields.
    assert.deepEqual(
      { ...policy.spec?.egress?.[0]?.to?.[0]?.ipBlock },
      {
        cidr: '0.0.0.0/0',
        except: ['192.0.2.50/32'],
      },
    );
    await net.deleteNamespacedNetworkPolicy({ namespace: ns, name: 'fn-f-egress' });
    await eventually('the deleted policy recreated', async () =>
      (await read()) ? true : undefined,
    );
    await stop(op);
    op = start(ns);
    await eventually('the policy removed with protection off', async () =>
      (await read()) ? undefined : true,
    );
    await stop(op);
  });
});

describe('restart and leader election', () => {
  test('a restarted operator converges: changes made while it was down are applied, deleted children come back', async () => {
    const ns = await makeNamespace(kc, 'op-restart');
    const op = start(ns);
    await createFunction(ns, 'f', inline);
    await waitReady(ns, 'f', 'ScaledToZero');
    await stop(op);
    await patchSpec(fnApi(ns), 'f', (s) => (s.timeout = 30));
    await apps.deleteNamespacedDeployment({ namespace: ns, name: 'fn-f' });
    start(ns);
    const dep = await eventually('Deployment recreated with the new timeout', async () => {
      const d = await apps
        .readNamespacedDeployment({ namespace: ns, name: 'fn-f' })
        .catch(() => undefined);
      return d?.spec?.template.spec?.terminationGracePeriodSeconds === 35 ? d : undefined;
    });
    assert.equal(dep.spec?.replicas, 0);
    const r = await waitReady(ns, 'f', 'ScaledToZero');
    assert.equal(r.status?.observedGeneration, 2);
  });

  test('with two replicas only the lease holder acts; when it stops, the other takes over', async () => {
    const ns = await makeNamespace(kc, 'op-leader');
    const a = start(ns, { identity: 'replica-a' });
    const b = start(ns, { identity: 'replica-b' });
    await eventually('one leader', async () => a.isLeader || b.isLeader);
    // Each has read the lease since it had a holder, and acted on what it saw.
    await Promise.all([a.electionRound(), b.electionRound()]);
    assert.notEqual(a.isLeader, b.isLeader, 'exactly one replica leads');
    const [leader, follower] = a.isLeader ? [a, b] : [b, a];
    const lease = await kc
      .makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ namespace: ns, name: 'selfless-operator' });
    assert.equal(lease.spec?.holderIdentity, leader === a ? 'replica-a' : 'replica-b');

    await createFunction(ns, 'one', inline);
    await waitReady(ns, 'one', 'ScaledToZero');
    const followerText = await follower.metrics.registry.metrics();
    assert.doesNotMatch(
      followerText,
      /selfless_operator_reconciles_total\{kind="Function"/,
      'the follower reconciled',
    );

    await stop(leader);
    await eventually('the follower leads', async () => follower.isLeader, 10_000);
    await createFunction(ns, 'two', inline);
    await waitReady(ns, 'two', 'ScaledToZero');
    assert.match(
      await follower.metrics.registry.metrics(),
      /selfless_operator_reconciles_total\{kind="Function"/,
    );
  });
});

describe('Table', () => {
  let ns: string;
  let ddb: DynamoDBClient;
  before(async () => {
    ns = await makeNamespace(kc, 'op-tbl');
    start(ns);
    ddb = new DynamoDBClient({
      endpoint: tablesUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });
  after(() => ddb.destroy());

  const spec = (extra: Record<string, unknown> = {}) => ({
    attributeDefinitions: [{ attributeName: 'id', attributeType: 'S' }],
    keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
    ...extra,
  });
  const createTable = (name: string, s: Record<string, unknown>, namespace = ns) =>
    custom.createNamespacedCustomObject({
      ...tableApi(namespace),
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Table', metadata: { name }, spec: s },
    });
  const getTable = async (name: string, namespace = ns) =>
    (await custom
      .getNamespacedCustomObject({ ...tableApi(namespace), name })
      .catch((e: unknown) => {
        if (e instanceof k8s.ApiException && e.code === 404) return undefined;
        throw e;
      })) as Resource | undefined;
  const describeTable = (name: string) =>
    ddb.send(new DescribeTableCommand({ TableName: name })).then(
      (r) => r.Table,
      (e: unknown) => {
        if (e instanceof ResourceNotFoundException) return undefined;
        throw e;
      },
    );
  const waitTable = (name: string, reason: string, namespace = ns) =>
    eventually(`Table ${name} ${reason}`, async () => {
      const t = await getTable(name, namespace);
      return t &&
        ready(t)?.reason === reason &&
        t.status?.observedGeneration === t.metadata.generation
        ? t
        : undefined;
    });

  test('a Table gets a finalizer, a table in the table service, and its status from DescribeTable', async () => {
    await createTable('users', spec());
    const t = await waitTable('users', 'TableActive');
    assert.deepEqual(t.metadata.finalizers, ['selfless.dev/table']);
    assert.equal(t.status?.tableStatus, 'ACTIVE');
    assert.equal(t.status?.tableName, 'users');
    const d = await describeTable('users');
    assert.equal(d?.KeySchema?.[0]?.AttributeName, 'id');
  });

  test('a billing mode change is applied with UpdateTable', async () => {
    await waitTable('users', 'TableActive');
    await patchSpec(tableApi(ns), 'users', (s) => {
      s.billingMode = 'PROVISIONED';
      s.provisionedThroughput = { readCapacityUnits: 3, writeCapacityUnits: 4 };
    });
    await eventually('table provisioned 3/4', async () => {
      const d = await describeTable('users');
      return (
        d?.ProvisionedThroughput?.ReadCapacityUnits === 3 &&
        d.ProvisionedThroughput.WriteCapacityUnits === 4
      );
    });
    await waitTable('users', 'TableActive');
  });

  test('deleting a protected Table keeps the table until protection is turned off, then deletes both', async () => {
    await custom.deleteNamespacedCustomObject({ ...tableApi(ns), name: 'users' });
    const t = await waitTable('users', 'DeletionProtected');
    assert.ok(t.metadata.deletionTimestamp);
    assert.ok(await describeTable('users'), 'the table must survive');
    await patchSpec(tableApi(ns), 'users', (s) => (s.deletionProtectionEnabled = false));
    await eventually('resource gone', async () => (await getTable('users')) === undefined);
    assert.equal(await describeTable('users'), undefined);
  });

  test('the retain policy releases the resource and keeps the table', async () => {
    await createTable('kept', spec({ deletionProtectionEnabled: false }));
    await waitTable('kept', 'TableActive');
    await custom.patchNamespacedCustomObject(
      {
        ...tableApi(ns),
        name: 'kept',
        body: { metadata: { annotations: { 'selfless.dev/deletion-policy': 'retain' } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await custom.deleteNamespacedCustomObject({ ...tableApi(ns), name: 'kept' });
    await eventually('resource gone', async () => (await getTable('kept')) === undefined);
    assert.ok(await describeTable('kept'));
  });

  test('two Tables claiming one table name: the older owns it, the newer is refused', async () => {
    await createTable('shared-a', spec({ tableName: 'shared' }));
    await waitTable('shared-a', 'TableActive');
    await createTable('shared-b', spec({ tableName: 'shared' }));
    const b = await waitTable('shared-b', 'TableNameConflict');
    assert.match(b.status?.lastError ?? '', new RegExp(`managed by Table ${ns}/shared-a`));
    assert.equal(b.status?.tableName, undefined);
  });
});
