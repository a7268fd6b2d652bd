// The gateway's watch of Function resources on the real API server: existing and
// new Functions arrive as parsed, defaulted definitions; edits replace them;
// deletions remove them; namespaces stay apart.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../crds/schema.ts';
import {
  eventually,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../../test/support/kubernetes.ts';
import { watchFunctions, type FunctionChange, type FunctionWatch } from './watch.ts';

let kc: k8s.KubeConfig;
let custom: k8s.CustomObjectsApi;
let ns: string;
let other: string;
let watch: FunctionWatch;
const changes: FunctionChange[] = [];

const body = (name: string, memorySize = 256) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Function',
  metadata: { name },
  spec: {
    runtime: 'python3.12',
    handler: 'app.main',
    code: { inline: { 'app.py': 'def main(e, c): return 1' } },
    memorySize,
  },
});
const api = (namespace: string) => ({
  group: GROUP,
  version: VERSION,
  namespace,
  plural: 'functions',
});

before(async () => {
  kc = await testKubeConfig();
  await installCrds(kc);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  ns = await makeNamespace(kc, 'gw-watch');
  other = await makeNamespace(kc, 'gw-other');
  await custom.createNamespacedCustomObject({ ...api(ns), body: body('existing') });
  await custom.createNamespacedCustomObject({ ...api(other), body: body('elsewhere') });
  watch = watchFunctions(kc, (c) => changes.push(c), { namespace: ns });
  await watch.ready;
});
after(() => watch.stop());

test('existing Functions are reported once synced, with the defaults of the model filled in', () => {
  const put = changes.find((c) => c.type === 'put' && c.fn.name === 'existing');
  assert.ok(put && put.type === 'put');
  assert.equal(put.fn.namespace, ns);
  assert.equal(put.fn.spec.timeout, 3);
  assert.equal(put.fn.spec.functionEventInvokeConfig.maximumRetryAttempts, 2);
  assert.ok(
    !changes.some((c) => c.type === 'put' && c.fn.name === 'elsewhere'),
    'another namespace leaked in',
  );
});

test('a new Function, an edit and a deletion arrive as put, put, remove', async () => {
  await custom.createNamespacedCustomObject({ ...api(ns), body: body('later') });
  await eventually('later put', async () => watch.list().some((f) => f.name === 'later'));
  const obj = (await custom.getNamespacedCustomObject({ ...api(ns), name: 'later' })) as ReturnType<
    typeof body
  >;
  obj.spec.memorySize = 512;
  await custom.replaceNamespacedCustomObject({ ...api(ns), name: 'later', body: obj });
  await eventually(
    'later has 512 MB',
    async () => watch.list().find((f) => f.name === 'later')?.spec.memorySize === 512,
  );
  await custom.deleteNamespacedCustomObject({ ...api(ns), name: 'later' });
  await eventually('later removed', async () =>
    changes.some((c) => c.type === 'remove' && c.name === 'later' && c.namespace === ns),
  );
  assert.ok(!watch.list().some((f) => f.name === 'later'));
});
