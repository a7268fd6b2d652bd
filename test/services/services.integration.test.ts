// Proves that the test services are the real thing: each test talks to the server
// over its own protocol and checks behaviour a fake would not have.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import cassandra from 'cassandra-driver';
import { Redis } from 'ioredis';
import { parse } from 'yaml';
import { testServices, type TestServices } from './index.ts';
import { helmBinary } from './local.ts';

let services: TestServices;
before(async () => {
  services = await testServices();
});

describe('redis', () => {
  test('a value written is read back and expires on the server clock', async () => {
    const redis = new Redis(services.redisUrl);
    try {
      const key = `selfless-test:${process.pid}:${Date.now()}`;
      await redis.set(key, 'hello', 'PX', 60_000);
      assert.equal(await redis.get(key), 'hello');
      const ttl = await redis.pttl(key);
      assert.ok(ttl > 0 && ttl <= 60_000, `pttl ${ttl}`);
      assert.match(await redis.info('server'), /redis_version:\d+\.\d+/);
      await redis.del(key);
    } finally {
      redis.disconnect();
    }
  });
});

describe('cql', () => {
  let client: cassandra.Client;
  before(async () => {
    client = new cassandra.Client({
      contactPoints: services.cqlContactPoints,
      localDataCenter: services.cqlLocalDataCenter,
    });
    await client.connect();
  });
  after(() => client.shutdown());

  test('a keyspace is created and an LWT insert applies once, then reports the winner', async () => {
    const ks = `selfless_test_${process.pid}`;
    await client.execute(
      `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`,
    );
    await client.execute(`CREATE TABLE IF NOT EXISTS ${ks}.kv (k text PRIMARY KEY, v text)`);
    const insert = `INSERT INTO ${ks}.kv (k, v) VALUES (?, ?) IF NOT EXISTS`;
    const first = await client.execute(insert, ['key', 'first'], { prepare: true });
    assert.equal(first.wasApplied(), true);
    const second = await client.execute(insert, ['key', 'second'], { prepare: true });
    assert.equal(second.wasApplied(), false);
    assert.equal(second.first().get('v'), 'first');
    const read = await client.execute(`SELECT v FROM ${ks}.kv WHERE k = ?`, ['key'], {
      prepare: true,
      consistency: cassandra.types.consistencies.serial,
    });
    assert.equal(read.first().get('v'), 'first');
    await client.execute(`DROP KEYSPACE ${ks}`);
  });
});

describe('kubernetes api server', () => {
  const crd = parse(
    readFileSync(join(import.meta.dirname, 'fixtures', 'widget-crd.yaml'), 'utf8'),
  ) as k8s.V1CustomResourceDefinition;
  const group = 'test.selfless.dev';
  let kc: k8s.KubeConfig;
  let ext: k8s.ApiextensionsV1Api;
  let custom: k8s.CustomObjectsApi;
  const namespace = 'default';

  before(async () => {
    kc = new k8s.KubeConfig();
    kc.loadFromFile(services.kubeconfig);
    ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await ext.deleteCustomResourceDefinition({ name: crd.metadata!.name! }).catch(() => undefined);
    await eventually(async () => {
      const res = await ext.createCustomResourceDefinition({ body: crd }).catch((e: unknown) => e);
      return !(res instanceof Error);
    });
    await eventually(async () => {
      const got = await ext.readCustomResourceDefinition({ name: crd.metadata!.name! });
      return (
        got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ??
        false
      );
    });
  });
  after(async () => {
    await ext.deleteCustomResourceDefinition({ name: crd.metadata!.name! }).catch(() => undefined);
  });

  test('a custom object is created and read back with its server-assigned fields', async () => {
    const name = `w-${process.pid}`;
    const body = {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name },
      spec: { size: 3 },
    };
    await eventually(async () => {
      const res = await custom
        .createNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'widgets', body })
        .catch((e: unknown) => e);
      return !(res instanceof Error);
    });
    const got = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace,
      plural: 'widgets',
      name,
    })) as { spec: { size: number }; metadata: { uid?: string; resourceVersion?: string } };
    assert.equal(got.spec.size, 3);
    assert.ok(got.metadata.uid, 'the API server assigns a uid');
    assert.ok(got.metadata.resourceVersion, 'etcd assigns a resourceVersion');
  });

  test('an object that violates the schema is refused with the field named', async () => {
    const body = {
      apiVersion: `${group}/v1`,
      kind: 'Widget',
      metadata: { name: `bad-${process.pid}` },
      spec: { size: 11 },
    };
    const err = await custom
      .createNamespacedCustomObject({ group, version: 'v1', namespace, plural: 'widgets', body })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(err instanceof k8s.ApiException, `expected an ApiException, got ${String(err)}`);
    assert.equal(err.code, 422);
    assert.match(String(err.body), /spec\.size/);
    assert.match(String(err.body), /less than or equal to 10/);
  });
});

describe('helm', () => {
  test('helm version reports the pinned v3 release', async () => {
    const { stdout } = await promisify(execFile)(helmBinary(), ['version', '--short']);
    assert.match(stdout, /^v3\.\d+\.\d+/);
  });
});

async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('condition not met in time');
}
