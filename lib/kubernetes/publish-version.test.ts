// publishVersion against the real API server: numbers come from the Function's count
// (never the number of a deleted version, nor one taken without the count), writers
// publishing at once each get their own, and a writer whose cache is behind
// (keepCounted) does not publish its snapshot twice.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { API_VERSION } from '../../crds/schema.ts';
import { installCrds, makeNamespace, testKubeConfig } from '../../test/support/kubernetes.ts';
import { parseFunctionSpec, type FunctionDefinition } from '../function.ts';
import { FUNCTION_VERSION_KIND, LAST_VERSION_ANNOTATION } from '../function-version.ts';
import { publishVersion, versionResource } from './publish-version.ts';

let objects: k8s.KubernetesObjectApi;
let ns: string;

before(async () => {
  const kc = await testKubeConfig();
  await installCrds(kc);
  objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  ns = await makeNamespace(kc, 'publish');
});

const spec = (answer: number) => ({
  runtime: 'nodejs20.x',
  handler: 'index.handler',
  code: { inline: { 'index.mjs': `export const handler = async () => ${answer}` } },
});

/** A Function resource, and its $LATEST as a writer knows it. */
async function makeFunction(name: string, answer: number): Promise<FunctionDefinition> {
  await objects.create({
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name, namespace: ns },
    spec: spec(answer),
  } as k8s.KubernetesObject);
  return latest(name, answer);
}

function latest(name: string, answer: number): FunctionDefinition {
  const parsed = parseFunctionSpec(spec(answer));
  assert.ok(parsed.ok);
  return { name, namespace: ns, spec: parsed.value };
}

const publish = (fn: FunctionDefinition, after: number, keepCounted = false) =>
  publishVersion(objects, fn, '', { after, fieldManager: 'selfless-tests', keepCounted });

const versionRef = (fn: string, version: string) => ({
  apiVersion: API_VERSION,
  kind: FUNCTION_VERSION_KIND,
  metadata: { name: `${fn}-${version}`, namespace: ns },
});

async function count(name: string): Promise<string | undefined> {
  const fn = await objects.read({
    apiVersion: API_VERSION,
    kind: 'Function',
    metadata: { name, namespace: ns },
  });
  return fn.metadata?.annotations?.[LAST_VERSION_ANNOTATION];
}

test("a deleted version's number is not given again, and one taken without the count is skipped", async () => {
  const fn = await makeFunction('numbered', 1);
  assert.deepEqual(await publish(fn, 0), { version: '1', created: true });
  assert.deepEqual(await publish(fn, 1), { version: '2', created: true });
  await objects.delete(versionRef('numbered', '2'));
  // The writer knows of version 1 only; the count says 2 was given.
  assert.deepEqual(await publish(fn, 1), { version: '3', created: true });
  // A version made by hand, which the count does not know.
  const { uid } = (
    await objects.read({
      apiVersion: API_VERSION,
      kind: 'Function',
      metadata: { name: 'numbered', namespace: ns },
    })
  ).metadata!;
  await objects.create(versionResource({ ...fn, version: '4' }, '', { uid: uid! }));
  assert.deepEqual(await publish(fn, 3), { version: '5', created: true });
  assert.equal(await count('numbered'), '5');
});

test('writers publishing at once each get a number of their own', async () => {
  const fn = await makeFunction('raced', 1);
  const got = await Promise.all([publish(fn, 0), publish(fn, 0), publish(fn, 0)]);
  assert.deepEqual(got.map((p) => p?.version).sort(), ['1', '2', '3']);
  assert.equal(await count('raced'), '3');
});

test('keepCounted: the counted version stands when it is this snapshot, not when it differs or is gone', async () => {
  const fn = await makeFunction('cached', 1);
  assert.deepEqual(await publish(fn, 0, true), { version: '1', created: true });
  // A cache that has not seen version 1 yet.
  assert.deepEqual(await publish(fn, 0, true), { version: '1', created: false });
  assert.equal(await count('cached'), '1');
  const changed = latest('cached', 2);
  assert.deepEqual(await publish(changed, 0, true), { version: '2', created: true });
  await objects.delete(versionRef('cached', '2'));
  assert.deepEqual(await publish(changed, 1, true), { version: '3', created: true });
});
