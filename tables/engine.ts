// Opens the configured storage engine. The CQL engine (and cassandra-driver) is
// loaded only when asked for, so `selfless dev` on sqlite never pays for it.
import type { StorageEngine } from './storage/engine.ts';
import { openSqliteEngine } from './storage/sqlite/engine.ts';

export type EngineConfig =
  | { engine: 'sqlite'; file?: string; maxItemCollectionBytes?: number }
  | {
      engine: 'cql';
      contactPoints: string[];
      localDataCenter: string;
      keyspace: string;
      /** CQL replication map; default SimpleStrategy with one replica. */
      replication?: Record<string, string | number>;
      /** Every write through LWT (slower, never mixes LWT and plain writes). */
      alwaysUseLwt?: boolean;
      /** The item collection limit of tables with local indexes; default DynamoDB's 10 GB. */
      maxItemCollectionBytes?: number;
    };

export async function openEngine(config: EngineConfig): Promise<StorageEngine> {
  if (config.engine === 'sqlite') {
    return openSqliteEngine(config.file ?? ':memory:', {
      maxItemCollectionBytes: config.maxItemCollectionBytes,
    });
  }
  const { openCqlEngine } = await import('./storage/cql/engine.ts');
  return openCqlEngine(config);
}
