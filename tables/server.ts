// The table service on its own HTTP server: the DynamoDB API on every path, plus
// GET /metrics for Prometheus.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../lib/log.ts';
import { makeTablesHandler } from './http.ts';
import type { StorageEngine } from './storage/engine.ts';
import type { BucketStore } from './capacity/buckets.ts';
import { MemoryBucketStore } from './capacity/store-memory.ts';
import { capacityReport } from './capacity/report.ts';
import { ReadCache, type ReadCacheOptions } from './cache/read-cache.ts';
import { makeCacheMetrics } from './metrics.ts';
import { startDaxServer, type DaxServer } from './dax/server.ts';
import { makeLogger } from '../lib/log.ts';

export interface TablesServer {
  url: string;
  server: Server;
  registry: Registry;
  cache?: ReadCache;
  /** The DAX endpoint, when asked for (tables/dax/). */
  dax?: DaxServer;
  close(): Promise<void>;
}

export async function startTablesServer(opts: {
  engine: StorageEngine;
  port?: number;
  host?: string;
  auth?: { credentials: Record<string, string> };
  log?: Logger;
  defaultMetrics?: boolean;
  /** Capacity budgets: a RedisBucketStore shares them with every replica (default: this process). */
  capacityStore?: BucketStore;
  /** Epoch ms; tests inject it. */
  clock?: () => number;
  /** The DAX-style read cache; absent: none (tables/cache/read-cache.ts). */
  cache?: Omit<ReadCacheOptions, 'metrics' | 'clock'>;
  /** Wraps the server's request listener (main.ts: the drain on SIGTERM). */
  wrap?: (listener: RequestListener) => RequestListener;
  /** Also serve the DAX protocol on this TCP port (0: any free one); absent: off. */
  daxPort?: number;
  /** The IP and port DAX discovery names instead of the address a client reached. */
  daxAdvertise?: { address: string; port: number };
}): Promise<TablesServer> {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  const capacityStore = opts.capacityStore ?? new MemoryBucketStore();
  const cache =
    opts.cache &&
    new ReadCache({ ...opts.cache, clock: opts.clock, metrics: makeCacheMetrics(registry) });
  const handler = makeTablesHandler({
    engine: opts.engine,
    registry,
    capacityStore,
    clock: opts.clock,
    cache,
    auth: opts.auth,
    log: opts.log,
  });
  const listener: RequestListener = (req, res) => {
    if (req.method === 'GET' && req.url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    if (req.method === 'GET' && req.url?.startsWith('/capacity/')) {
      const url = new URL(req.url, 'http://tables');
      const name = decodeURIComponent(url.pathname.slice('/capacity/'.length));
      const minutes = Math.min(60, Math.max(1, Number(url.searchParams.get('minutes') ?? 5) || 5));
      const now = (opts.clock ?? Date.now)();
      capacityReport(opts.engine, capacityStore, name, now, minutes).then(
        (report) => {
          res.writeHead(report ? 200 : 404, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(report ?? { message: `Table not found: ${name}` }));
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    handler(req, res);
  };
  const server = createServer(opts.wrap ? opts.wrap(listener) : listener);
  server.keepAliveTimeout = 65_000;
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const dax =
    opts.daxPort === undefined
      ? undefined
      : await startDaxServer({
          handler,
          port: opts.daxPort,
          host,
          advertise: opts.daxAdvertise,
          auth: opts.auth,
          now: opts.clock,
          log: opts.log ?? makeLogger('tables'),
        });
  return {
    url: `http://${host}:${port}`,
    server,
    registry,
    cache,
    dax,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        void cache?.close();
        void dax?.close();
      }),
  };
}
