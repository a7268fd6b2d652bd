// Opens the configured storage engine. The CQL engine (and cassandra-driver) is
// loaded only when asked for, so `selfless dev` on sqlite never pays for it.
import type { StorageEngine } from './storage/engine.ts';
import { openSqliteEngine } from './storage/sqlite/engine.ts';
import type { WriteIsolation } from './storage/write-isolation.ts';

export type EngineConfig =
  | {
      engine: 'sqlite';
      file?: string;
      maxItemCollectionBytes?: number;
      writeIsolation?: WriteIsolation;
    }
  | {
      engine: 'cql';
      contactPoints: string[];
      localDataCenter: string;
      keyspace: string;
      /** CQL replication map; default SimpleStrategy with one replica. */
      replication?: Record<string, string | number>;
      /** Tables without their own `system:write_isolation` tag; default only_rmw_uses_lwt. */
      writeIsolation?: WriteIsolation;
      /** The item collection limit of tables with local indexes; default DynamoDB's 10 GB. */
      maxItemCollectionBytes?: number;
      /** Coalesce the driver's socket writes per event loop turn (storage/cql/coalesce.ts); default true. */
      coalesceWrites?: boolean;
    };

export async function openEngine(config: EngineConfig): Promise<StorageEngine> {
  if (config.engine === 'sqlite') {
    return openSqliteEngine(config.file ?? ':memory:', {
      maxItemCollectionBytes: config.maxItemCollectionBytes,
      writeIsolation: config.writeIsolation,
    });
  }
  const { openCqlEngine } = await import('./storage/cql/engine.ts');
  return openCqlEngine(config);
}
