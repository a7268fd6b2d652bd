// The informer after 410 Gone: its watch history expired, so it must list again and
// derive what it missed. The real API server answers 410 only once etcd has compacted
// past the informer's resourceVersion (minutes on a real cluster), so an HTTP proxy in
// front of the real API server answers the informer's next watch with the ERROR event
// the API server sends in that case; everything else is the real server's.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, before, test } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { eventually, makeNamespace, testKubeConfig } from '../../test/support/kubernetes.ts';
import { makeLogger } from '../log.ts';
import { Informer } from './informer.ts';

let core: k8s.CoreV1Api;
let ns: string;
let informer: Informer;
let proxy: Server;
let mode: 'forward' | 'hold' = 'forward';
const held: ServerResponse[] = [];
const watches = new Set<ServerResponse>();
const seen: string[] = [];
const logs: string[] = [];
let lists = 0;

before(async () => {
  const kc = await testKubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  ns = await makeNamespace(kc, 'informer-gone');
  const upstream = new URL(kc.getCurrentCluster()!.server);
  const auth: { headers?: Record<string, string>; ca?: Buffer; rejectUnauthorized?: boolean } = {};
  await kc.applyToHTTPSOptions(auth as never);
  proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const isWatch = new URL(req.url!, 'http://x').searchParams.get('watch') === 'true';
    if (!isWatch) lists++;
    if (isWatch && mode === 'hold') {
      res.writeHead(200, { 'content-type': 'application/json' });
      held.push(res);
      return;
    }
    const out = httpsRequest(
      {
        ...auth,
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...auth.headers },
      },
      (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
        if (isWatch) {
          watches.add(res);
          res.on('close', () => watches.delete(res));
        }
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const viaProxy = new k8s.KubeConfig();
  viaProxy.loadFromClusterAndUser(
    {
      name: 'proxy',
      server: `http://127.0.0.1:${(proxy.address() as { port: number }).port}`,
      skipTLSVerify: true,
    },
    { name: 'anonymous' },
  );
  informer = new Informer(viaProxy, {
    path: `/api/v1/namespaces/${ns}/configmaps`,
    log: makeLogger('informer-test', { level: 'info', write: (l) => logs.push(l) }),
    maxBackoffMs: 200,
  });
  informer.on((o, type) => seen.push(`${type}:${o.metadata?.name}`));
  informer.start();
  await informer.hasSynced();
});

after(() => {
  informer.stop();
  for (const r of [...held, ...watches]) r.destroy();
  proxy.closeAllConnections();
  proxy.close();
});

const names = () =>
  informer
    .list()
    .map((o) => o.metadata?.name)
    .sort();

test('after 410 Gone the informer lists again and reports what changed while it was blind', async () => {
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'a' } } });
  await eventually('a cached', async () => names().includes('a'));

  // The watch breaks and the next one hangs: changes now are invisible to it.
  mode = 'hold';
  for (const w of watches) w.destroy();
  await eventually('a new watch is waiting', async () => held.length > 0);
  await core.deleteNamespacedConfigMap({ namespace: ns, name: 'a' });
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'b' } } });
  assert.deepEqual(names(), ['a'], 'blind while the watch hangs');

  // The server's answer when the history is compacted away.
  mode = 'forward';
  const gone = {
    type: 'ERROR',
    object: {
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      reason: 'Expired',
      code: 410,
      message: 'too old resource version',
    },
  };
  const listsBefore = lists;
  for (const r of held.splice(0)) r.end(JSON.stringify(gone) + '\n');

  await eventually('listed again', async () => names().join() === 'b');
  assert.ok(seen.includes('deleted:a') && seen.includes('added:b'), seen.join(','));
  // Resuming the watch from the expired resourceVersion would be wrong: it lists.
  assert.equal(lists, listsBefore + 1, 'one new list after the 410');
  assert.ok(logs.some((l) => l.includes('watch history expired, listing again')));
});
