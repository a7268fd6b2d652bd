// The chart's RBAC is enough and no more: the operator runs with a token of the
// chart's own ServiceAccount (RBAC applied for real to the test API server) and
// reconciles a Function and a Table; the same token cannot list Secrets or Pods,
// and the gateway's token can only read and write Functions.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import dynalite from 'dynalite';
import { parseAllDocuments, stringify } from 'yaml';
import { GROUP, VERSION } from '../crds/schema.ts';
import { eventually, installCrds, makeNamespace, testKubeConfig } from './support/kubernetes.ts';
import { makeLogger } from '../lib/log.ts';
import { defaultRuntimeImages, runOperator, type RunningOperator } from '../operator/main.ts';
import { testServices } from './services/index.ts';
import { helmBinary, kubectlBinary } from './services/local.ts';

const run = promisify(execFile);
const chartDir = join(import.meta.dirname, '..', 'charts', 'selfless');
const RBAC_KINDS = new Set([
  'ServiceAccount',
  'ClusterRole',
  'ClusterRoleBinding',
  'Role',
  'RoleBinding',
]);
let admin: k8s.KubeConfig;
let kubeconfig: string;
let release: string;
let ns: string;
let apps: string;
let op: RunningOperator | undefined;
let tables: Server;

function kubectl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBinary(), ['--kubeconfig', kubeconfig, ...args]);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(out))));
    child.stdin.end(input ?? '');
  });
}

function asServiceAccount(token: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromClusterAndUser(admin.getCurrentCluster()!, { name: 'sa', token });
  return kc;
}

before(async () => {
  admin = await testKubeConfig();
  kubeconfig = (await testServices()).kubeconfig;
  await installCrds(admin);
  ns = await makeNamespace(admin, 'rbac');
  apps = await makeNamespace(admin, 'rbac-apps');
  // Cluster-scoped names carry the release name: a unique one per run.
  release = `r${randomBytes(3).toString('hex')}`;
  const { stdout } = await run(
    helmBinary(),
    ['template', release, chartDir, '--namespace', ns, '--kube-version', '1.34.0'],
    {
      maxBuffer: 16 << 20,
    },
  );
  const rbac = parseAllDocuments(stdout)
    .map((d) => d.toJS() as { kind: string } | null)
    .filter((d) => d && RBAC_KINDS.has(d.kind));
  await kubectl(['-n', ns, 'apply', '-f', '-'], rbac.map((d) => stringify(d)).join('---\n'));
  tables = dynalite({ createTableMs: 20, deleteTableMs: 20, updateTableMs: 20 });
  await new Promise<void>((r) => tables.listen(0, '127.0.0.1', r));
});

after(async () => {
  await op?.stop();
  tables.close();
  await kubectl([
    'delete',
    'clusterrole,clusterrolebinding',
    '-l',
    `app.kubernetes.io/instance=${release}`,
  ]).catch(() => undefined);
});

test("the operator reconciles Functions and Tables with nothing but the chart's RBAC", async () => {
  const token = (
    await kubectl(['-n', ns, 'create', 'token', `${release}-selfless-operator`])
  ).trim();
  const kc = asServiceAccount(token);
  op = runOperator({
    kc,
    identity: 'rbac',
    leaseNamespace: ns,
    leaseName: 'selfless-operator',
    retryPeriodMs: 300,
    gatewayUrl: 'http://gw:8080',
    gatewayDemandUrl: 'http://127.0.0.1:9',
    tablesUrl: `http://127.0.0.1:${(tables.address() as AddressInfo).port}`,
    region: 'us-east-1',
    runtimeImages: defaultRuntimeImages('runtime-', 'test'),
    agentImage: 'selfless:test',
    workerToken: 'secret',
    demandIntervalMs: 1_000,
    scaleDownWindowMs: 60_000,
    maxReplicas: 10,
    log: makeLogger('operator', { level: 'error' }),
  });
  const custom = admin.makeApiClient(k8s.CustomObjectsApi);
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: apps,
    plural: 'functions',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Function',
      metadata: { name: 'f' },
      spec: {
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        code: { inline: { 'index.mjs': '' } },
      },
    },
  });
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: apps,
    plural: 'tables',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Table',
      metadata: { name: `t-${release}` },
      spec: {
        attributeDefinitions: [{ attributeName: 'id', attributeType: 'S' }],
        keySchema: [{ attributeName: 'id', keyType: 'HASH' }],
      },
    },
  });
  const reason = (plural: string, name: string) => async () => {
    const o = (await custom.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: apps,
      plural,
      name,
    })) as {
      status?: { conditions?: { type: string; reason: string }[] };
    };
    return o.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
  };
  assert.equal(
    await eventually(
      'Function ready',
      async () => (await reason('functions', 'f')()) === 'ScaledToZero' && 'ok',
    ),
    'ok',
  );
  assert.equal(
    await eventually(
      'Table ready',
      async () => (await reason('tables', `t-${release}`)()) === 'TableActive' && 'ok',
    ),
    'ok',
  );
  const events = await admin.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: apps });
  assert.ok(
    events.items.some((e) => e.reason === 'ScaledToZero'),
    'the operator may record Events',
  );

  const core = kc.makeApiClient(k8s.CoreV1Api);
  for (const [what, call] of [
    ['list Secrets', () => core.listSecretForAllNamespaces()],
    ['list Pods', () => core.listPodForAllNamespaces()],
    [
      'create a Lease outside its namespace',
      () =>
        kc
          .makeApiClient(k8s.CoordinationV1Api)
          .createNamespacedLease({ namespace: apps, body: { metadata: { name: 'x' } } }),
    ],
  ] as const) {
    const err = await (call as () => Promise<unknown>)().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof k8s.ApiException && err.code === 403, `the operator may ${what}`);
  }
});

test("the gateway's token reads and writes Functions (the deployment API) and nothing else", async () => {
  const token = (
    await kubectl(['-n', ns, 'create', 'token', `${release}-selfless-gateway`])
  ).trim();
  const kc = asServiceAccount(token);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'functions' });
  const refused = (call: Promise<unknown>) =>
    call.then(
      () => undefined,
      (e: unknown) => e,
    );
  const denied = await refused(
    custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'tables' }),
  );
  assert.ok(denied instanceof k8s.ApiException && denied.code === 403);
  const fn = {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Function',
    metadata: { name: 'deployed-by-api' },
    spec: {
      runtime: 'nodejs20.x',
      handler: 'index.handler',
      code: { inline: { 'index.mjs': '' } },
    },
  };
  await custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: apps,
    plural: 'functions',
    body: fn,
  });
  const status = await refused(
    custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace: apps,
      plural: 'functions',
      name: 'deployed-by-api',
      body: { ...fn, status: { lastError: 'not the gateway' } },
    }),
  );
  assert.ok(status instanceof k8s.ApiException && status.code === 403, 'status is the operator’s');
  await custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: apps,
    plural: 'functions',
    name: 'deployed-by-api',
  });
});
