// The examples a new user applies first, on the real cluster: every resource reaches
// its Ready reason from real Deployment and table status, each function answers
// through the gateway Service by Invoke and by its HTTP route, and the users
// functions write and read their table through the table service.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { GetItemCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import {
  e2eCluster,
  dynamodbClient,
  getJson,
  kubectl,
  liftDeletionProtection,
  lambdaClient,
  waitReady,
  type E2eCluster,
} from './support.ts';

const examples = join(import.meta.dirname, '..', '..', 'examples');
const files = [
  ...readdirSync(examples)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(examples, f)),
  ...readdirSync(join(examples, 'kubernetes'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => join(examples, 'kubernetes', f)),
];

describe('the examples on a real cluster', () => {
  let c: E2eCluster;
  const ns = 'default';

  before(async () => {
    c = e2eCluster();
    for (const f of files) await kubectl(c, ['apply', '-n', ns, '-f', f]);
  });

  after(async () => {
    // The example tables keep their data when deleted (deletion protection, on by
    // default): lift it first, as a user tearing down a test would.
    for (const t of ['users', 'orders']) {
      await liftDeletionProtection(c, ns, t).catch(() => undefined);
    }
    for (const f of files) {
      await kubectl(c, ['delete', '-n', ns, '-f', f, '--ignore-not-found', '--wait=true'], {
        timeoutMs: 180_000,
      });
    }
  });

  test('every Function and Table reaches its Ready reason', async () => {
    const fns = await getJson<{ items: { metadata: { name: string } }[] }>(c, [
      'functions.selfless.dev',
      '-n',
      ns,
    ]);
    assert.ok(fns.items.length >= 5, `functions applied: ${fns.items.length}`);
    for (const f of fns.items) {
      await waitReady(c, 'function', f.metadata.name, ns, ['WorkersAvailable', 'ScaledToZero']);
    }
    for (const t of ['users', 'orders']) await waitReady(c, 'table', t, ns, ['TableActive']);
    const tables = await dynamodbClient(c).send(new ListTablesCommand({}));
    for (const t of ['users', 'orders']) assert.ok(tables.TableNames?.includes(t), t);
  });

  test('hello answers by Invoke and by its HTTP route, hello-python by its route', async () => {
    const lambda = lambdaClient(c);
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: 'hello', Payload: JSON.stringify({ name: 'e2e' }) }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
    assert.equal(
      (JSON.parse(Buffer.from(out.Payload!).toString()) as { message: string }).message,
      'Hello, e2e!',
    );
    const res = await fetch(`${c.gatewayUrl}/hello?name=route`);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { message: string }).message, 'Hello, route!');
    const py = await fetch(`${c.gatewayUrl}/hello-python/snake`);
    assert.equal(py.status, 200, await py.clone().text());
    assert.deepEqual(await py.json(), { message: 'Hello, snake!', function: 'hello-python' });
  });

  test('put-user writes the users table through the table service and get-user reads it back', async () => {
    const id = `e2e-${Date.now()}`;
    const put = await fetch(`${c.gatewayUrl}/users`, {
      method: 'POST',
      body: JSON.stringify({ id, name: 'Ada' }),
    });
    assert.equal(put.status, 201, await put.clone().text());
    const got = await fetch(`${c.gatewayUrl}/users/${id}`);
    assert.equal(got.status, 200, await got.clone().text());
    assert.deepEqual(await got.json(), { id, name: 'Ada' });
    const item = await dynamodbClient(c).send(
      new GetItemCommand({ TableName: 'users', Key: { id: { S: id } } }),
    );
    assert.deepEqual(item.Item, { id: { S: id }, name: { S: 'Ada' } });
    const missing = await fetch(`${c.gatewayUrl}/users/nobody-${id}`);
    assert.equal(missing.status, 404);
  });

  test('orders-report (Python, boto3, provisioned concurrency) queries its index', async () => {
    const out = await lambdaClient(c).send(
      new InvokeCommand({ FunctionName: 'orders-report', Payload: '{}' }),
    );
    assert.equal(out.StatusCode, 200);
    assert.equal(out.FunctionError, undefined, Buffer.from(out.Payload ?? []).toString());
  });
});
