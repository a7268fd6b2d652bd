// Functions on the real cluster, through the gateway Service from outside: quotas
// across two gateway replicas, async events through the in-chart Redis with their
// destination, scale from zero and back, provisioned concurrency kept through idle,
// the hardening of worker pods as enforced by the kernel, and garbage collection.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvokeCommand, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { CreateTableCommand, DeleteTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import {
  arnOf,
  deleteNamespace,
  dynamodbClient,
  e2eCluster,
  eventually,
  getJson,
  kubectl,
  lambdaClient,
  makeNamespace,
  readyWorkers,
  waitReady,
  type E2eCluster,
} from './support.ts';

function fnManifest(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'selfless.dev/v1alpha1',
    kind: 'Function',
    metadata: { name },
    spec: { runtime: 'nodejs20.x', handler: 'index.handler', ...spec },
  });
}

const payloadOf = (p: Uint8Array | undefined) => JSON.parse(Buffer.from(p ?? []).toString());

describe('functions on a real cluster', () => {
  let c: E2eCluster;
  let ns: string;
  const table = `e2e-events-${Date.now()}`;

  const apply = (name: string, spec: Record<string, unknown>) =>
    kubectl(c, ['apply', '-n', ns, '-f', '-'], { input: fnManifest(name, spec) });
  const invoke = (name: string, payload: unknown = {}) =>
    lambdaClient(c).send(
      new InvokeCommand({ FunctionName: arnOf(c, ns, name), Payload: JSON.stringify(payload) }),
    );

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-fn');
    await dynamodbClient(c).send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });

  after(async () => {
    await deleteNamespace(c, ns);
    await dynamodbClient(c)
      .send(new DeleteTableCommand({ TableName: table }))
      .catch(() => undefined);
  });

  test('reserved concurrency 2: of 10 parallel calls over two gateway replicas, exactly 8 are throttled with Lambda’s reason', async () => {
    await apply('slow', {
      timeout: 60,
      reservedConcurrentExecutions: 2,
      provisionedConcurrentExecutions: 2,
      code: {
        inline: {
          'index.mjs':
            'export const handler = async () => { await new Promise((r) => setTimeout(r, 4000)); return { ok: true }; };',
        },
      },
    });
    await waitReady(c, 'function', 'slow', ns, ['WorkersAvailable']);
    await eventually('2 provisioned workers ready', async () =>
      (await readyWorkers(c, ns, 'slow')) >= 2 ? true : undefined,
    );
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => invoke('slow')));
    const throttled = outcomes.filter(
      (o) => o.status === 'rejected' && o.reason instanceof TooManyRequestsException,
    );
    const ok = outcomes.filter((o) => o.status === 'fulfilled' && o.value.StatusCode === 200);
    assert.equal(throttled.length, 8, JSON.stringify(outcomes.map((o) => o.status)));
    assert.equal(ok.length, 2);
    for (const t of throttled) {
      const err = (t as PromiseRejectedResult).reason as TooManyRequestsException;
      assert.equal(err.Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
      assert.equal(err.$metadata.httpStatusCode, 429);
    }
  });

  test('async Event calls through the in-chart Redis all run once, and a failing one reaches its on-failure destination', async () => {
    const record = (tag: string) => ({
      environment: { variables: { TABLE: table, TAG: tag } },
      code: {
        inline: {
          'index.mjs': `
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
const db = new DynamoDBClient({});
export const handler = async (event, context) => {
  if (event.fail) throw new Error('asked to fail');
  const id = process.env.TAG + ':' + (event.id ?? event.requestContext?.requestId ?? context.awsRequestId);
  await db.send(new UpdateItemCommand({
    TableName: process.env.TABLE, Key: { id: { S: id } },
    UpdateExpression: 'ADD runs :one SET body = :b',
    ExpressionAttributeValues: { ':one': { N: '1' }, ':b': { S: JSON.stringify(event) } },
  }));
  return { ok: true };
};`,
        },
      },
    });
    // Reserved concurrency keeps the burst to a few workers: one node on two cores
    // cannot start one per event (twenty loading the SDK at once passed the 10 s init
    // limit), and events over the limit wait in the queue as Lambda's do, not lost.
    // Few events: a throttled event backs off as Lambda's (1 s doubling, up to 5 min).
    await apply('dlq', { ...record('dead'), timeout: 30, reservedConcurrentExecutions: 1 });
    await apply('worker', {
      ...record('ran'),
      timeout: 30,
      reservedConcurrentExecutions: 4,
      functionEventInvokeConfig: {
        maximumRetryAttempts: 0,
        destinationConfig: { onFailure: { destination: 'function:dlq' } },
      },
    });
    for (const f of ['dlq', 'worker']) {
      await waitReady(c, 'function', f, ns, ['WorkersAvailable', 'ScaledToZero']);
    }
    const lambda = lambdaClient(c);
    const ids = Array.from({ length: 8 }, (_, i) => `e${i}`);
    for (const id of ids) {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: arnOf(c, ns, 'worker'),
          InvocationType: 'Event',
          Payload: JSON.stringify({ id }),
        }),
      );
      assert.equal(out.StatusCode, 202);
    }
    const failed = await lambda.send(
      new InvokeCommand({
        FunctionName: arnOf(c, ns, 'worker'),
        InvocationType: 'Event',
        Payload: JSON.stringify({ fail: true }),
      }),
    );
    assert.equal(failed.StatusCode, 202);

    const items = await eventually(
      'every event recorded and the failure dead-lettered',
      async () => {
        const scan = await dynamodbClient(c).send(new ScanCommand({ TableName: table }));
        const got = scan.Items ?? [];
        const ran = got.filter((i) => i.id!.S!.startsWith('ran:'));
        const dead = got.filter((i) => i.id!.S!.startsWith('dead:'));
        if (ran.length >= ids.length && dead.length >= 1) return { ran, dead };
        throw new Error(`${ran.length}/${ids.length} ran, ${dead.length} dead-lettered`);
      },
      600_000,
      1_000,
    );
    assert.deepEqual(items.ran.map((i) => i.id!.S).sort(), ids.map((id) => `ran:${id}`).sort());
    for (const i of items.ran) assert.equal(i.runs!.N, '1', `${i.id!.S} ran once`);
    // The destination receives Lambda's invocation record of the failed event.
    const body = JSON.parse(items.dead[0]!.body!.S!) as {
      requestContext: { condition: string; functionArn: string };
      requestPayload: unknown;
      responsePayload: { errorMessage: string };
    };
    assert.equal(body.requestContext.condition, 'RetriesExhausted');
    assert.deepEqual(body.requestPayload, { fail: true });
    assert.equal(body.responsePayload.errorMessage, 'asked to fail');
  });

  test('a function with no workers answers its first call and goes back to zero; provisioned concurrency keeps its workers through the same idle period', async () => {
    await apply('cold', {
      code: {
        inline: { 'index.mjs': 'export const handler = async () => ({ warm: false });' },
      },
    });
    await apply('kept', {
      provisionedConcurrentExecutions: 2,
      code: { inline: { 'index.mjs': 'export const handler = async () => ({ ok: 1 });' } },
    });
    await waitReady(c, 'function', 'cold', ns, ['ScaledToZero']);
    assert.equal(await readyWorkers(c, ns, 'cold'), 0);
    await waitReady(c, 'function', 'kept', ns, ['WorkersAvailable']);
    await eventually('2 provisioned workers ready', async () =>
      (await readyWorkers(c, ns, 'kept')) === 2 ? true : undefined,
    );

    const t0 = performance.now();
    const out = await invoke('cold');
    const firstCallMs = performance.now() - t0;
    assert.equal(out.StatusCode, 200);
    assert.deepEqual(payloadOf(out.Payload), { warm: false });
    // Recorded, not asserted: speed is measured by bench/, never by a test's bound.
    process.stdout.write(`# first call from zero workers: ${firstCallMs.toFixed(0)} ms\n`);
    assert.equal((await invoke('kept')).StatusCode, 200);

    await waitReady(c, 'function', 'cold', ns, ['WorkersAvailable']);
    // Both functions are now idle. The operator scaling `cold` back to zero is the
    // event that proves the scale-down window has passed; `kept` went through the
    // same window and must still hold its two initialised workers.
    await waitReady(c, 'function', 'cold', ns, ['ScaledToZero'], 300_000);
    await eventually('cold worker pods gone', async () =>
      (await readyWorkers(c, ns, 'cold')) === 0 ? true : undefined,
    );
    const kept = await getJson<{ spec: { replicas: number } }>(c, [
      'deployment',
      'fn-kept',
      '-n',
      ns,
    ]);
    assert.equal(kept.spec.replicas, 2);
    assert.equal(await readyWorkers(c, ns, 'kept'), 2);
  });

  test('hardening is enforced: writes outside /tmp fail with EROFS, the runtime is uid 65532, no service-account token', async () => {
    await apply('probe', {
      code: {
        inline: {
          'index.mjs': `
import { writeFileSync, existsSync } from 'node:fs';
export const handler = async () => {
  const attempt = (p) => { try { writeFileSync(p, 'x'); return 'written'; } catch (e) { return e.code; } };
  return {
    task: attempt('/var/task/x'), root: attempt('/x'), tmp: attempt('/tmp/x'),
    uid: process.getuid(), gid: process.getgid(),
    token: existsSync('/var/run/secrets/kubernetes.io/serviceaccount/token'),
    home: process.env.HOME,
  };
};`,
        },
      },
    });
    await waitReady(c, 'function', 'probe', ns, ['WorkersAvailable', 'ScaledToZero']);
    const out = await invoke('probe');
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    const got = payloadOf(out.Payload) as Record<string, unknown>;
    assert.equal(got.task, 'EROFS');
    assert.equal(got.root, 'EROFS');
    assert.equal(got.tmp, 'written');
    assert.equal(got.uid, 65532);
    assert.equal(got.gid, 65532);
    assert.equal(got.token, false);
    assert.equal(typeof got.home, 'string');
  });

  test('kubectl delete of a Function removes its children by garbage collection', async () => {
    await apply('gone', {
      provisionedConcurrentExecutions: 1,
      code: { inline: { 'index.mjs': 'export const handler = async () => 1;' } },
    });
    await waitReady(c, 'function', 'gone', ns, ['WorkersAvailable']);
    const owned = async () => {
      const list = await getJson<{ items: { metadata: { name: string } }[] }>(c, [
        'deployments,configmaps,services',
        '-n',
        ns,
        '-l',
        'selfless.dev/function=gone',
      ]);
      return list.items.length;
    };
    assert.ok((await owned()) >= 2, 'the Function has children');
    await kubectl(c, ['delete', 'functions.selfless.dev', 'gone', '-n', ns, '--wait=true']);
    await eventually('children collected', async () => ((await owned()) === 0 ? true : undefined));
    await eventually('worker pods gone', async () =>
      (await readyWorkers(c, ns, 'gone')) === 0 ? true : undefined,
    );
  });
});
