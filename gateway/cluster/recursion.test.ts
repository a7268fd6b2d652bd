// Recursive loop detection on two cluster-mode gateway replicas sharing Redis, as in a
// cluster: the Function resource's on-success destination is the function itself, so
// each success becomes its next event, which either replica's dispatcher may take. The
// lineage travels with the events in Redis and the chain stops after 16 invocations;
// PutFunctionRecursionConfig through one replica is what the other reads.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import {
  GetFunctionRecursionConfigCommand,
  InvokeCommand,
  LambdaClient,
  PutFunctionRecursionConfigCommand,
} from '@aws-sdk/client-lambda';
import { Redis } from 'ioredis';
import { GROUP, VERSION } from '../../crds/schema.ts';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../../test/services/index.ts';
import {
  eventually,
  installCrds,
  makeNamespace,
  testKubeConfig,
} from '../../test/support/kubernetes.ts';
import { composeGateway, type ComposedGateway } from '../compose.ts';

/** A Redis database of its own: no other test's dispatcher takes these events. */
const REDIS_DB = 12;

// Depth = how many destination records the event nests; the 20th throws, which ends
// a chain that Allow lets run on.
const RELAY = `export const handler = async (event) => {
  let depth = 1;
  for (let e = event; e && e.requestPayload; e = e.requestPayload) depth++;
  if (depth >= 20) throw new Error('depth ' + depth);
  return { depth };
};`;

let ns: string;
let redisUrl: string;
const replicas: { composed: ComposedGateway; server: Server; client: LambdaClient }[] = [];

async function replica(kubeconfig: string) {
  const composed = await composeGateway({
    log: makeLogger('test', { level: 'error' }),
    functions: { kubernetes: { kubeconfig } },
    workers: { process: { env: {} } },
    redisUrl,
    eventsWithoutRedis: 'refuse',
    idleTimeoutMs: 60_000,
  });
  const server = createServer(composed.gateway.app).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const client = new LambdaClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: ns, secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  return { composed, server, client };
}

before(async () => {
  const kc = await testKubeConfig();
  await installCrds(kc);
  ns = await makeNamespace(kc, 'recursion');
  await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: 'functions',
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'Function',
      metadata: { name: 'relay' },
      spec: {
        runtime: 'nodejs22.x',
        handler: 'index.handler',
        code: { inline: { 'index.mjs': RELAY } },
        functionEventInvokeConfig: {
          maximumRetryAttempts: 0,
          destinationConfig: {
            onSuccess: { destination: 'function:relay' },
            onFailure: { destination: 'queue:relay-failed' },
          },
        },
      },
    },
  });
  const services = await testServices();
  redisUrl = `${services.redisUrl}/${REDIS_DB}`;
  const r = new Redis(redisUrl);
  await r.flushdb();
  r.disconnect();
  for (let i = 0; i < 2; i++) replicas.push(await replica(services.kubeconfig));
  for (const { composed } of replicas) {
    await eventually('the function is served', async () =>
      composed.gateway.registry.list().some((f) => f.namespace === ns),
    );
  }
});
after(async () => {
  for (const { composed, server, client } of replicas) {
    client.destroy();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await composed.close();
  }
  const r = new Redis(redisUrl);
  await r.flushdb();
  r.disconnect();
});

interface FailureRecord {
  requestPayload: unknown;
  responsePayload: { errorType?: string; errorMessage?: string };
}

async function failures(): Promise<FailureRecord[] | undefined> {
  const got = await replicas[0]!.composed.events!.takeFromQueue('relay-failed', 10);
  return got.length > 0 ? got.map((r) => JSON.parse(r) as FailureRecord) : undefined;
}

/** The sum over both replicas of a counter's series for the function. */
async function counter(name: string, outcome?: string): Promise<number> {
  let sum = 0;
  for (const { composed } of replicas) {
    const m = await composed.gateway.metrics.registry.getSingleMetric(name)!.get();
    for (const v of m.values) {
      if (v.labels.function !== `${ns}/relay`) continue;
      if (outcome === undefined || v.labels.outcome === outcome) sum += v.value;
    }
  }
  return sum;
}

const depthOf = (payload: unknown): number => {
  let depth = 1;
  for (
    let e = payload as { requestPayload?: unknown } | undefined;
    e?.requestPayload;
    e = e.requestPayload as typeof e
  )
    depth++;
  return depth;
};

test('a chain through the destination stops after 16 invocations, across replicas', async () => {
  const [a, b] = replicas;
  const got = await b!.client.send(
    new GetFunctionRecursionConfigCommand({ FunctionName: 'relay' }),
  );
  assert.equal(got.RecursiveLoop, 'Terminate');
  await a!.client.send(
    new InvokeCommand({ FunctionName: 'relay', InvocationType: 'Event', Payload: '{}' }),
  );
  const [dropped] = await eventually('the dropped event', failures, 60_000);
  assert.equal(dropped!.responsePayload.errorType, 'RecursiveInvocationException');
  assert.equal(depthOf(dropped!.requestPayload), 17, 'the 17th event was the one dropped');
  assert.equal(await counter('selfless_recursive_invocations_dropped_total'), 1);
  assert.equal(await counter('selfless_function_invocations_total', 'success'), 16);
});

test('Allow put through one replica is what the other reads and applies', async () => {
  const [a, b] = replicas;
  await a!.client.send(
    new PutFunctionRecursionConfigCommand({ FunctionName: 'relay', RecursiveLoop: 'Allow' }),
  );
  // The other replica may hold Terminate from the first test for up to its 1 s cache;
  // the one that put it reads it afresh.
  await eventually('the other replica reads Allow', async () => {
    const got = await b!.client.send(
      new GetFunctionRecursionConfigCommand({ FunctionName: 'relay' }),
    );
    return got.RecursiveLoop === 'Allow' ? true : undefined;
  });
  await b!.client.send(
    new InvokeCommand({ FunctionName: 'relay', InvocationType: 'Event', Payload: '{}' }),
  );
  const [ended] = await eventually('the 20th, failing', failures, 60_000);
  assert.match(ended!.responsePayload.errorMessage ?? '', /depth 20/);
  assert.equal(await counter('selfless_recursive_invocations_dropped_total'), 1, 'no new drop');
  assert.equal(await counter('selfless_function_invocations_total', 'success'), 16 + 19);
});
