// `selfless gateway --kubernetes` against the real API server: functions come from
// Function resources, each namespace is an account, a bare name resolves in the
// caller's namespace (its access key id), an ARN in its account's, and the demand
// report lists every function. Environments run as local processes here (no
// kubelet); in a cluster they are worker pods.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-lambda';
import { GROUP, VERSION } from '../../crds/schema.ts';
import {
  eventually,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../../test/support/kubernetes.ts';
import { testServices } from '../../test/services/index.ts';
import { freePort } from '../../test/services/process.ts';
import { join } from 'node:path';
import { accountIdForNamespace } from '../../lib/names.ts';

let custom: k8s.CustomObjectsApi;
let nsA: string;
let nsB: string;
let gateway: ChildProcess;
let url: string;
let log = '';

const fn = (name: string, answer: string) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'Function',
  metadata: { name },
  spec: {
    runtime: 'nodejs20.x',
    handler: 'index.handler',
    code: {
      inline: { 'index.mjs': `export const handler = async () => ${JSON.stringify(answer)};` },
    },
  },
});
const create = (namespace: string, body: object) =>
  custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: 'functions',
    body,
  });

before(async () => {
  const kc = await testKubeConfig();
  await installCrds(kc);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  nsA = await makeNamespace(kc, 'gw-a');
  nsB = await makeNamespace(kc, 'gw-b');
  await create(nsA, fn('same', 'from a'));
  await create(nsB, fn('same', 'from b'));
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  const { kubeconfig } = await testServices();
  gateway = spawn(
    process.execPath,
    [
      join(import.meta.dirname, '..', '..', 'bin', 'selfless.js'),
      'gateway',
      '--kubernetes',
      '--kubeconfig',
      kubeconfig,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  gateway.stderr!.on('data', (c) => (log += c));
  // Started through tsx, the gateway compiles on start: 12 s on an idle 2-core machine here.
  await eventually('gateway listening', async () => log.includes('"gateway listening"'), 90_000);
});
after(async () => {
  gateway.kill('SIGTERM');
  await new Promise((r) => gateway.once('exit', r));
});

const lambda = (namespace: string) =>
  new LambdaClient({
    endpoint: url,
    region: 'us-east-1',
    credentials: { accessKeyId: namespace, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
const answer = async (client: LambdaClient, name: string) =>
  JSON.parse(
    Buffer.from((await client.send(new InvokeCommand({ FunctionName: name }))).Payload!).toString(),
  ) as unknown;

test("a bare name resolves in the caller's namespace: two namespaces' functions of one name stay apart", async () => {
  assert.equal(await answer(lambda(nsA), 'same'), 'from a');
  assert.equal(await answer(lambda(nsB), 'same'), 'from b');
});

test("an ARN reaches another namespace's function, and GetFunction shows the namespace's account", async () => {
  const arnB = `arn:aws:lambda:us-east-1:${accountIdForNamespace(nsB)}:function:same`;
  assert.equal(await answer(lambda(nsA), arnB), 'from b');
  const got = await lambda(nsA).send(new GetFunctionCommand({ FunctionName: 'same' }));
  assert.equal(
    got.Configuration?.FunctionArn,
    `arn:aws:lambda:us-east-1:${accountIdForNamespace(nsA)}:function:same`,
  );
});

test('a Function created or deleted later is served or withdrawn', async () => {
  await create(nsA, fn('later', 'late'));
  await eventually(
    'later served',
    async () => (await answer(lambda(nsA), 'later').catch(() => undefined)) === 'late',
  );
  await custom.deleteNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: nsA,
    plural: 'functions',
    name: 'later',
  });
  await eventually('later withdrawn', async () => {
    const err = await lambda(nsA)
      .send(new InvokeCommand({ FunctionName: 'later' }))
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    return err instanceof ResourceNotFoundException;
  });
});

test('the demand report lists each function with its namespace', async () => {
  const report = (await (await fetch(`${url}/_selfless/demand`)).json()) as {
    functions: { namespace: string; name: string }[];
  };
  const names = report.functions.map((f) => `${f.namespace}/${f.name}`);
  assert.ok(names.includes(`${nsA}/same`) && names.includes(`${nsB}/same`), names.join(', '));
});

test('the demand wake held by the operator answers as soon as a call waits for a worker', async () => {
  const wake = async (seen: number) =>
    (
      (await (await fetch(`${url}/_selfless/demand/wake?seen=${seen}&wait=20000`)).json()) as {
        version: number;
      }
    ).version;
  const now = await wake(-1);
  const held = wake(now);
  // A namespace's first call of its own function: no environment yet, so it waits.
  const created = fn('woken', 'awake');
  await create(nsA, created);
  await eventually('woken served', async () => (log.includes('"name":"woken"') ? true : undefined));
  assert.equal(await answer(lambda(nsA), 'woken'), 'awake');
  assert.ok((await held) > now);
});
