// Test harness: a real table service on 127.0.0.1 over the chosen engine, and AWS
// SDK clients pointed at it. Each CQL run gets its own keyspace, dropped at the end.
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import cassandra from 'cassandra-driver';
import { makeLogger } from '../../lib/log.ts';
import { testServices } from '../services/index.ts';
import { openEngine, type EngineConfig } from '../../tables/engine.ts';
import { startTablesServer, type TablesServer } from '../../tables/server.ts';
import type { StorageEngine } from '../../tables/storage/engine.ts';

export type EngineKind = 'sqlite' | 'cql';
export const engineKinds: EngineKind[] = ['sqlite', 'cql'];

export interface Harness {
  server: TablesServer;
  engine: StorageEngine;
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  close(): Promise<void>;
}

export async function cqlConfig(
  extra: Partial<Extract<EngineConfig, { engine: 'cql' }>> = {},
): Promise<Extract<EngineConfig, { engine: 'cql' }>> {
  const s = await testServices();
  return {
    engine: 'cql',
    contactPoints: s.cqlContactPoints,
    localDataCenter: s.cqlLocalDataCenter,
    keyspace: `selfless_test_${randomBytes(6).toString('hex')}`,
    ...extra,
  };
}

export async function dropKeyspace(
  config: Extract<EngineConfig, { engine: 'cql' }>,
): Promise<void> {
  const c = new cassandra.Client({
    contactPoints: config.contactPoints,
    localDataCenter: config.localDataCenter,
  });
  try {
    await c.execute(`DROP KEYSPACE IF EXISTS ${config.keyspace}`);
  } finally {
    await c.shutdown();
  }
}

export function sdkClient(
  url: string,
  credentials = { accessKeyId: 'test', secretAccessKey: 'test' },
) {
  return new DynamoDBClient({ endpoint: url, region: 'us-east-1', credentials, maxAttempts: 1 });
}

export async function startHarness(
  kind: EngineKind,
  opts: {
    auth?: { credentials: Record<string, string> };
    config?: EngineConfig;
    /** Epoch ms of the server's capacity and UpdateTable (tables/server.ts). */
    clock?: () => number;
  } = {},
): Promise<Harness> {
  const config =
    opts.config ?? (kind === 'sqlite' ? { engine: 'sqlite' as const } : await cqlConfig());
  const engine = await openEngine(config);
  const server = await startTablesServer({
    engine,
    auth: opts.auth,
    clock: opts.clock,
    log: makeLogger('tables', { level: 'error' }),
  });
  const client = sdkClient(server.url);
  const doc = DynamoDBDocumentClient.from(client);
  return {
    server,
    engine,
    client,
    doc,
    async close() {
      client.destroy();
      await server.close();
      await engine.close();
      if (config.engine === 'cql') await dropKeyspace(config);
    },
  };
}

/** Asserts that a promise fails with the given DynamoDB error type (and message). */
export async function rejectsWith(
  p: Promise<unknown>,
  type: string,
  message?: string | RegExp,
  status = 400,
): Promise<void> {
  await assert.rejects(
    p,
    (err: { name?: string; message?: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, type, `error type (message: ${err.message})`);
      if (typeof message === 'string') assert.equal(err.message, message);
      else if (message) assert.match(err.message ?? '', message);
      assert.equal(err.$metadata?.httpStatusCode, status);
      return true;
    },
  );
}
