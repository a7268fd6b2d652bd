// Every manifest in examples/ applies to a cluster with the CRDs (kubectl apply, as
// a user would), and the operator brings each Function and Table to its expected
// Ready reason. Pods never run here, so a Function with provisioned concurrency
// stops at WorkersStarting; everything else becomes Ready.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import dynalite from 'dynalite';
import { parseAllDocuments } from 'yaml';
import { GROUP, VERSION } from '../crds/schema.ts';
import {
  eventually,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../test/support/kubernetes.ts';
import { makeLogger } from '../lib/log.ts';
import { testServices } from '../test/services/index.ts';
import { kubectlBinary } from '../test/services/local.ts';
import { defaultRuntimeImages, runOperator, type RunningOperator } from './main.ts';

const examples = join(import.meta.dirname, '..', 'examples');
// The top level is what `selfless dev examples` serves; kubernetes/ holds cluster-only ones.
const files = [
  ...readdirSync(examples).filter((f) => f.endsWith('.yaml')),
  ...readdirSync(join(examples, 'kubernetes'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join('kubernetes', f)),
];
let kc: k8s.KubeConfig;
let ns: string;
let op: RunningOperator;
let tables: Server;

before(async () => {
  kc = await testKubeConfig();
  await installCrds(kc);
  ns = await makeNamespace(kc, 'examples');
  tables = dynalite({ createTableMs: 20, updateTableMs: 20, deleteTableMs: 20 });
  await new Promise<void>((r) => tables.listen(0, '127.0.0.1', r));
  op = runOperator({
    kc,
    identity: 'examples',
    leaseNamespace: ns,
    leaseName: 'selfless-operator',
    retryPeriodMs: 300,
    watchNamespace: ns,
    gatewayUrl: 'http://selfless-gateway:8080',
    gatewayDemandUrl: 'http://127.0.0.1:9',
    tablesUrl: `http://127.0.0.1:${(tables.address() as AddressInfo).port}`,
    region: 'us-east-1',
    runtimeImages: defaultRuntimeImages('runtime-', 'test'),
    agentImage: 'selfless:test',
    demandIntervalMs: 1_000,
    scaleDownWindowMs: 60_000,
    maxReplicas: 10,
    log: makeLogger('operator', { level: 'error' }),
  });
});

after(async () => {
  await op.stop();
  tables.close();
});

test('there are examples to apply', () => assert.ok(files.length >= 3, files.join(', ')));

for (const file of files) {
  test(`examples/${file} applies and every resource in it becomes ready`, async () => {
    const { kubeconfig } = await testServices();
    const { stdout } = await promisify(execFile)(kubectlBinary(), [
      '--kubeconfig',
      kubeconfig,
      '-n',
      ns,
      'apply',
      '-f',
      join(examples, file),
    ]);
    const docs = parseAllDocuments(readFileSync(join(examples, file), 'utf8')).map(
      (d) =>
        d.toJS() as { kind: string; metadata: { name: string }; spec: Record<string, unknown> },
    );
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    for (const doc of docs) {
      assert.match(
        stdout,
        new RegExp(`${doc.kind.toLowerCase()}\\.selfless\\.dev/${doc.metadata.name} created`),
      );
      const plural = doc.kind === 'Function' ? 'functions' : 'tables';
      const want =
        doc.kind === 'Table'
          ? 'TableActive'
          : Number(doc.spec.provisionedConcurrentExecutions ?? 0) > 0
            ? 'WorkersStarting'
            : 'ScaledToZero';
      await eventually(`${doc.kind} ${doc.metadata.name} ${want}`, async () => {
        const obj = (await custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural,
          name: doc.metadata.name,
        })) as { status?: { conditions?: { type: string; reason: string }[] } };
        return obj.status?.conditions?.find((c) => c.type === 'Ready')?.reason === want;
      });
    }
  });
}
