// For the stream and TTL tests: table services over one engine (or one CQL
// keyspace: several replicas) with a clock the test moves, and real SDK clients.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { Registry } from 'prom-client';
import { makeLogger } from '../../lib/log.ts';
import { openEngine, type EngineConfig } from '../engine.ts';
import { makeTablesHandler, type TablesHandler } from '../http.ts';
import type { StorageEngine } from '../storage/engine.ts';
import type { ExpirerOptions } from '../ttl/expirer.ts';

export interface Replica {
  url: string;
  engine: StorageEngine;
  handler: TablesHandler;
  client: DynamoDBClient;
  streams: DynamoDBStreamsClient;
  close(): Promise<void>;
}

export interface StreamsHarness {
  /** Added to the real clock of the replicas' streams, TTL and table actions. */
  clock: { offset: number };
  replica(): Promise<Replica>;
  close(): Promise<void>;
}

/**
 * `config` is the engine's (a test's own keyspace on cql); `cleanup` runs after the
 * last replica closed (dropping that keyspace).
 */
export async function streamsHarness(
  config: EngineConfig,
  opts: {
    ttl?: Partial<ExpirerOptions>;
    visibilityMs?: number;
    cleanup?: () => Promise<void>;
    registry?: Registry;
  } = {},
): Promise<StreamsHarness> {
  const kind = config.engine;
  const clock = { offset: 0 };
  const replicas: Replica[] = [];
  let shared: StorageEngine | undefined;
  return {
    clock,
    async replica() {
      // sqlite replicas share the one in-memory engine; cql ones each open their own.
      const engine =
        kind === 'sqlite' ? (shared ??= await openEngine(config)) : await openEngine(config);
      const handler = makeTablesHandler({
        engine,
        log: makeLogger('tables', { level: 'error' }),
        streamsClock: () => Date.now() + clock.offset,
        clock: () => Date.now() + clock.offset,
        streamVisibilityMs: opts.visibilityMs,
        registry: opts.registry,
        ttl: { intervalMs: 0, ...opts.ttl },
      });
      const server: Server = createServer(handler);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
      const r: Replica = {
        url,
        engine,
        handler,
        client: new DynamoDBClient({
          endpoint: url,
          region: 'us-east-1',
          credentials,
          maxAttempts: 1,
        }),
        streams: new DynamoDBStreamsClient({
          endpoint: url,
          region: 'us-east-1',
          credentials,
          maxAttempts: 1,
        }),
        async close() {
          handler.expirer?.stop();
          r.client.destroy();
          r.streams.destroy();
          server.closeAllConnections();
          await new Promise<void>((res) => server.close(() => res()));
          if (engine !== shared) await engine.close();
        },
      };
      replicas.push(r);
      return r;
    },
    async close() {
      for (const r of replicas) await r.close();
      await shared?.close();
      await opts.cleanup?.();
    },
  };
}
