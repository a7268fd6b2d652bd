// Faults on the real cluster: a worker pod deleted mid-invocation, the operator's
// leader deleted, the Redis pod deleted. Each is done with kubectl, as an operator
// (or the node) would do it, and the platform must recover without losing anything
// it accepted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InvokeCommand } from '@aws-sdk/client-lambda';
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

interface Pod {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { phase?: string };
}

describe('faults on a real cluster', () => {
  let c: E2eCluster;
  let ns: string;
  const table = `e2e-faults-${Date.now()}`;

  const apply = (name: string, spec: Record<string, unknown>) =>
    kubectl(c, ['apply', '-n', ns, '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'selfless.dev/v1alpha1',
        kind: 'Function',
        metadata: { name },
        spec: { runtime: 'nodejs20.x', handler: 'index.handler', ...spec },
      }),
    });
  const pods = async (namespace: string, selector: string) =>
    (await getJson<{ items: Pod[] }>(c, ['pods', '-n', namespace, '-l', selector])).items;

  // A function that records each event it is given (ADD runs, so a second delivery shows).
  const recorder = (sleepMs: number) => ({
    timeout: 30,
    environment: { variables: { TABLE: table, SLEEP: String(sleepMs) } },
    code: {
      inline: {
        'index.mjs': `
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
const db = new DynamoDBClient({});
export const handler = async (event) => {
  await new Promise((r) => setTimeout(r, Number(process.env.SLEEP)));
  await db.send(new UpdateItemCommand({
    TableName: process.env.TABLE, Key: { id: { S: String(event.id) } },
    UpdateExpression: 'ADD runs :one', ExpressionAttributeValues: { ':one': { N: '1' } },
  }));
  return { id: event.id };
};`,
      },
    },
  });
  // The agent prints Lambda's START line when the runtime takes an invocation.
  const startedOn = (pod: string, n: number) =>
    eventually(`${n} invocation(s) started on ${pod}`, async () => {
      const logs = await kubectl(c, ['logs', pod, '-n', ns, '--all-containers']);
      return (logs.match(/START RequestId/g) ?? []).length >= n ? true : undefined;
    });
  const recorded = async () =>
    new Map(
      ((await dynamodbClient(c).send(new ScanCommand({ TableName: table }))).Items ?? []).map(
        (i) => [i.id!.S!, Number(i.runs!.N)],
      ),
    );

  before(async () => {
    c = e2eCluster();
    ns = await makeNamespace(c, 'e2e-faults');
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

  test('a worker pod deleted mid-invocation finishes its call (graceful termination); an async event in flight on a killed one runs again', async () => {
    await apply('victim', {
      ...recorder(15_000),
      timeout: 120,
      provisionedConcurrentExecutions: 1,
    });
    await waitReady(c, 'function', 'victim', ns, ['WorkersAvailable']);
    const worker = async (n: number) => {
      // Not a deleted one: it stays Running while it terminates.
      const [pod] = await eventually('a ready worker pod', async () => {
        const list = (await pods(ns, 'selfless.dev/function=victim')).filter(
          (p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp,
        );
        return list.length > 0 && (await readyWorkers(c, ns, 'victim')) >= 1 ? list : undefined;
      });
      await startedOn(pod!.metadata.name, n);
      return pod!.metadata.name;
    };
    const call = (id: string) =>
      lambdaClient(c)
        .send(
          new InvokeCommand({
            FunctionName: arnOf(c, ns, 'victim'),
            Payload: JSON.stringify({ id }),
          }),
        )
        .catch((err: Error) => err);

    // A graceful delete (a rollout, a scale-down, a drained node): the pod's grace
    // period is the timeout + 5 s, and the call it runs ends as it would have.
    const graceful = call('graceful');
    await kubectl(c, ['delete', 'pod', await worker(1), '-n', ns, '--wait=false']);
    const done = await graceful;
    assert.ok(!(done instanceof Error), String(done));
    assert.equal(done.FunctionError, undefined, Buffer.from(done.Payload ?? []).toString());
    assert.deepEqual(JSON.parse(Buffer.from(done.Payload!).toString()), { id: 'graceful' });

    // Killed (a grace period of 1 s: the runtime dies mid-event): the async event in
    // flight runs again. A synchronous call on a killed worker is answered only at its
    // timeout: the worker channel holds no connection while a call runs (docs/agent.md).
    const ev = await lambdaClient(c).send(
      new InvokeCommand({
        FunctionName: arnOf(c, ns, 'victim'),
        InvocationType: 'Event',
        Payload: JSON.stringify({ id: 'async' }),
      }),
    );
    assert.equal(ev.StatusCode, 202);
    await kubectl(c, [
      'delete',
      'pod',
      await worker(1),
      '-n',
      ns,
      '--wait=false',
      '--grace-period=1',
    ]);
    const runs = await eventually(
      'the interrupted event run again to the end',
      async () => (await recorded()).get('async'),
      300_000,
      2_000,
    );
    assert.ok(runs >= 1);
  });

  test('the operator leader deleted: the standby takes over and reconciles a change made meanwhile', async () => {
    const lease = await getJson<{ spec: { holderIdentity: string } }>(c, [
      'lease',
      'selfless-operator',
      '-n',
      c.namespace,
    ]);
    const leader = lease.spec.holderIdentity;
    assert.ok(leader, 'a leader holds the lease');
    // The identity is `<pod name>-<pid>`, as client-go's is the host name and a suffix.
    const pod = leader.replace(/-\d+$/, '');
    await kubectl(c, ['delete', 'pod', pod, '-n', c.namespace, '--wait=false']);
    await apply('after-failover', {
      code: { inline: { 'index.mjs': 'export const handler = async () => "ok";' } },
    });
    await waitReady(c, 'function', 'after-failover', ns, ['ScaledToZero', 'WorkersAvailable']);
    const next = await eventually('a new leader', async () => {
      const l = await getJson<{ spec: { holderIdentity?: string } }>(c, [
        'lease',
        'selfless-operator',
        '-n',
        c.namespace,
      ]);
      return l.spec.holderIdentity && l.spec.holderIdentity !== leader
        ? l.spec.holderIdentity
        : undefined;
    });
    assert.notEqual(next, leader);
    const out = await lambdaClient(c).send(
      new InvokeCommand({ FunctionName: arnOf(c, ns, 'after-failover'), Payload: '{}' }),
    );
    assert.equal(out.StatusCode, 200);
  });

  test('the Redis pod deleted: no accepted async event is lost (AOF on its volume)', async () => {
    await apply('durable', recorder(0));
    await waitReady(c, 'function', 'durable', ns, ['ScaledToZero', 'WorkersAvailable']);
    const lambda = lambdaClient(c);
    const ids = Array.from({ length: 30 }, (_, i) => `d${i}`);
    for (const id of ids.slice(0, 15)) {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: arnOf(c, ns, 'durable'),
          InvocationType: 'Event',
          Payload: JSON.stringify({ id }),
        }),
      );
      assert.equal(out.StatusCode, 202);
    }
    const redis = await pods(c.namespace, 'app.kubernetes.io/name=selfless-redis');
    assert.equal(redis.length, 1);
    await kubectl(c, ['delete', 'pod', redis[0]!.metadata.name, '-n', c.namespace]);
    // Calls during the outage may be refused (never accepted and then lost); once
    // Redis is back every accepted one must run.
    const accepted = new Set(ids.slice(0, 15));
    for (const id of ids.slice(15)) {
      await eventually(`event ${id} accepted`, async () => {
        const out = await lambda
          .send(
            new InvokeCommand({
              FunctionName: arnOf(c, ns, 'durable'),
              InvocationType: 'Event',
              Payload: JSON.stringify({ id }),
            }),
          )
          .catch(() => undefined);
        return out?.StatusCode === 202 ? true : undefined;
      });
      accepted.add(id);
    }
    const got = await eventually(
      'every accepted event run',
      async () => {
        const r = await recorded();
        return [...accepted].every((id) => r.has(id)) ? r : undefined;
      },
      300_000,
      2_000,
    );
    for (const id of accepted) assert.ok((got.get(id) ?? 0) >= 1, id);
  });
});
