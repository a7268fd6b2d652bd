// The informer against the real API server, through a TCP proxy the test can cut:
// it resumes after the connection drops and the server is unreachable for a while.
// 410 Gone, which needs etcd compaction on the real server, is in informer-gone.test.ts.
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { eventually, makeNamespace, testKubeConfig } from '../../test/support/kubernetes.ts';
import { makeLogger } from '../log.ts';
import { Informer } from './informer.ts';

let core: k8s.CoreV1Api;
let ns: string;
let informer: Informer;
let proxy: { server: Server; port: number; sockets: Set<Socket>; target: URL };
const seen: string[] = [];
/** Attempts to reach the API server that failed, as the informer logs them. */
let failedWatches = 0;

function listen(port: number): Promise<Server> {
  const server = createServer((client) => {
    const upstream = connect(Number(proxy.target.port), proxy.target.hostname);
    for (const s of [client, upstream]) {
      proxy.sockets.add(s);
      s.on('close', () => proxy.sockets.delete(s));
      s.on('error', () => s.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((r) => server.listen(port, '127.0.0.1', () => r(server)));
}

/** The API server vanishes: open connections die, new ones are refused. */
async function cut(): Promise<void> {
  const closed = new Promise((r) => proxy.server.close(r));
  for (const s of proxy.sockets) s.destroy();
  await closed;
}

async function restore(): Promise<void> {
  proxy.server = await listen(proxy.port);
}

before(async () => {
  const kc = await testKubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  ns = await makeNamespace(kc, 'informer');
  proxy = {
    server: undefined as unknown as Server,
    port: 0,
    sockets: new Set(),
    target: new URL(kc.getCurrentCluster()!.server),
  };
  proxy.server = await listen(0);
  proxy.port = (proxy.server.address() as { port: number }).port;
  const viaProxy = new k8s.KubeConfig();
  const cluster = kc.getCurrentCluster()!;
  viaProxy.loadFromClusterAndUser(
    { ...cluster, server: `https://127.0.0.1:${proxy.port}` },
    kc.getCurrentUser()!,
  );
  informer = new Informer(viaProxy, {
    path: `/api/v1/namespaces/${ns}/configmaps`,
    log: makeLogger('informer-test', {
      level: 'warn',
      write: (line) => {
        if ((JSON.parse(line) as { msg: string }).msg === 'watch failed, retrying') failedWatches++;
      },
    }),
    maxBackoffMs: 500,
  });
  informer.on((o, type) => seen.push(`${type}:${o.metadata?.name}`));
  informer.start();
  await informer.hasSynced();
});

after(async () => {
  informer.stop();
  await cut();
});

const cm = (name: string) =>
  core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { a: '1' } } });
const names = () =>
  informer
    .list()
    .map((o) => o.metadata?.name)
    .sort();

test('changes made while the API server was unreachable are caught up when it returns', async () => {
  await cm('before');
  await eventually('before cached', async () => names().includes('before'));
  await cut();
  await cm('during');
  await core.deleteNamespacedConfigMap({ namespace: ns, name: 'before' });
  // The second failure from now is of an attempt begun after the changes were made.
  const failed = failedWatches;
  await eventually('two more failed attempts', async () => failedWatches >= failed + 2);
  assert.ok(names().includes('before'), 'the cache cannot know yet');
  await restore();
  await eventually(
    'caught up',
    async () => names().includes('during') && !names().includes('before'),
    15_000,
  );
  assert.ok(seen.includes('deleted:before') && seen.includes('added:during'), seen.join(','));
});

test('objects from a list carry their kind and apiVersion, as watch events do, so they can be deleted as they are', async () => {
  await cm('listed');
  const kc = await testKubeConfig();
  const fresh = new Informer(kc, {
    path: `/api/v1/namespaces/${ns}/configmaps`,
    log: makeLogger('informer-test', { level: 'error' }),
  });
  fresh.start();
  try {
    await fresh.hasSynced();
    const listed = fresh.get(`${ns}/listed`);
    assert.equal(listed?.kind, 'ConfigMap');
    assert.equal(listed?.apiVersion, 'v1');
  } finally {
    fresh.stop();
  }
});
