// The one interface both storage engines implement. Keys arrive as bytes whose
// unsigned order is DynamoDB's order (values.ts keyBytes), so engines never need
// to know DynamoDB types: hash key bytes pick the partition, range key bytes sort
// within it (empty when the table has no range key).
import type { Item, KeySchema } from '../values.ts';
import type { WriteIsolation } from './write-isolation.ts';

export interface TableMeta {
  name: string;
  /** Engine-side name of the table's storage, stable for the table's life. */
  id: string;
  schema: KeySchema;
  /** The DynamoDB TableDescription, without ItemCount/TableSizeBytes. */
  description: Record<string, unknown>;
  tags: Record<string, string>;
  /** Secondary indexes, each kept in its own index table (indexes.ts). */
  indexes?: IndexMeta[];
  /**
   * Set on the view of a local secondary index (indexes.ts indexTable): the table
   * whose partitions may hold the index rows, and the row prefix they carry there.
   */
  localOf?: { id: string; prefix: number };
  /**
   * Set by the CQL engine once a transaction has written the table: from then on
   * every write of it goes through LWT, so plain writes see transaction locks.
   */
  transactional?: boolean;
  /**
   * The table's streams, oldest first: the last one is written unless it has a
   * `disabledAt`; disabled ones stay readable until their records expire.
   */
  streams?: StreamMeta[];
  /** Time to live: the attribute whose Number (epoch seconds) expires an item. */
  ttl?: { attribute: string };
  /** When UpdateTimeToLive last changed the table (epoch ms): DynamoDB allows one change an hour. */
  ttlChangedAt?: number;
}

/** One stream of a table (tables/streams/model.ts builds them and their records). */
export interface StreamMeta {
  /** DynamoDB's StreamLabel, the creation time; with the table it names the stream. */
  label: string;
  viewType: 'KEYS_ONLY' | 'NEW_IMAGE' | 'OLD_IMAGE' | 'NEW_AND_OLD_IMAGES';
  createdAt: number;
  disabledAt?: number;
  /** A stream has one shard for its whole life. */
  shardId: string;
}

/** One stored stream record: its sequence number and the record as JSON. */
export interface StreamRow {
  seq: string;
  record: string;
}

// Declared here rather than beside the index maintenance (indexes.ts) because it
// is part of TableMeta: the engine interface imports nothing built on top of it.
export interface IndexMeta {
  name: string;
  /** Engine-side name of the index table. */
  id: string;
  schema: KeySchema;
  projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  nonKeyAttributes?: string[];
  /** A local secondary index: the table's hash key, another range key. */
  local?: boolean;
  /** A GSI being backfilled (CREATING) or dropped (DELETING); absent once ACTIVE. */
  status?: 'CREATING' | 'DELETING';
}

export interface StorageKey {
  hash: Buffer;
  range: Buffer;
}

export interface Bound {
  bytes: Buffer;
  inclusive: boolean;
}

export interface QuerySpec {
  hash: Buffer;
  lower?: Bound;
  upper?: Bound;
  forward: boolean;
  limit: number;
}

export interface ScanSpec {
  segment: number;
  totalSegments: number;
  /** Resume strictly after this key (ExclusiveStartKey). */
  after?: StorageKey;
  limit: number;
}

/** What a read-modify-write decides: write an item, delete (null), or nothing. */
export interface Mutation<T> {
  write?: Item | null;
  result: T;
  /** Who makes the change, for its stream record: TTL's expiry is a service deletion. */
  origin?: 'client' | 'expiry';
}

/** One item a transaction reads or writes. */
export interface TransactItem {
  meta: TableMeta;
  key: StorageKey;
}

/**
 * What a transaction decides from the current items (in request order): per item
 * an Item to write, null to delete, undefined to leave it as it is.
 */
export interface TransactDecision<T> {
  writes: (Item | null | undefined)[];
  result: T;
}

export interface TransactOptions {
  /** ClientRequestToken and the fingerprint of the request it came with. */
  token?: { id: string; fingerprint: string };
}

export type TransactOutcome<T> = { replayed: false; result: T } | { replayed: true };

export interface StorageEngine {
  readonly kind: 'sqlite' | 'cql';
  /** The write isolation of tables without their own (write-isolation.ts); default only_rmw_uses_lwt. */
  readonly writeIsolation?: WriteIsolation;
  /** false when a table of that name exists already. */
  createTable(meta: TableMeta): Promise<boolean>;
  getTable(name: string): Promise<TableMeta | undefined>;
  /** Table names in ascending order. */
  listTables(): Promise<string[]>;
  updateTable(meta: TableMeta): Promise<void>;
  deleteTable(meta: TableMeta): Promise<void>;
  /** Item count and bytes, or undefined when the engine cannot tell cheaply. */
  tableStats(meta: TableMeta): Promise<{ count: number; bytes: number } | undefined>;

  getItem(meta: TableMeta, key: StorageKey): Promise<Item | undefined>;
  putItem(meta: TableMeta, key: StorageKey, item: Item): Promise<void>;
  deleteItem(meta: TableMeta, key: StorageKey): Promise<void>;
  /**
   * Atomic read-modify-write of one item: `decide` sees the current item and its
   * outcome is written only if nobody wrote the item in between (linearizable).
   * `decide` may throw (a failed condition): then nothing is written.
   */
  mutate<T>(
    meta: TableMeta,
    key: StorageKey,
    decide: (current: Item | undefined) => Mutation<T>,
  ): Promise<T>;
  /**
   * TransactWriteItems: `decide` sees every item as of one instant and its writes
   * are applied all together or not at all, serializable with every other
   * transaction and read-modify-write (sqlite: one database transaction; cql:
   * storage/cql/transactions.ts). `decide` may throw (a cancellation): nothing is
   * written. A token seen within its window with the same fingerprint is a replay
   * (nothing runs again); with another fingerprint IdempotentParameterMismatch.
   */
  transactWrite<T>(
    items: TransactItem[],
    decide: (current: (Item | undefined)[]) => TransactDecision<T>,
    opts?: TransactOptions,
  ): Promise<TransactOutcome<T>>;
  /** TransactGetItems: the items as of one instant (a consistent snapshot). */
  transactGet(items: TransactItem[]): Promise<(Item | undefined)[]>;
  /** Items of one partition in range-key order, at most `limit`. */
  query(meta: TableMeta, spec: QuerySpec): Promise<Item[]>;
  /** Items of one segment in the engine's scan order, at most `limit`. */
  scan(meta: TableMeta, spec: ScanSpec): Promise<Item[]>;
  /** Bytes of one item collection (a hash key's items and local index rows). */
  collectionSize(meta: TableMeta, hash: Buffer): Promise<number>;
  /** Creates the storage of an index added to an existing table (UpdateTable). */
  createIndex(meta: TableMeta, index: IndexMeta): Promise<void>;
  dropIndex(meta: TableMeta, index: IndexMeta): Promise<void>;
  /**
   * One backfill step of an index added to a table with items: writes the index
   * rows of up to `limit` items after `after` in scan order, never over a newer
   * write of the same item. Returns where the next step starts, undefined at the end.
   */
  backfillIndex(
    meta: TableMeta,
    index: IndexMeta,
    after: StorageKey | undefined,
    limit: number,
  ): Promise<StorageKey | undefined>;
  /**
   * Stream records of `stream` (streams/model.ts streamId) with sequence numbers
   * above `after` and below `until`, in order, at most `limit`. Records are written
   * by the engine itself, with the item change they describe, for tables whose
   * metadata has an active stream.
   */
  readStream(stream: string, after: string, until: string, limit: number): Promise<StreamRow[]>;
  /**
   * Takes or renews the lease `name` for `holder` for `ms`; false while another
   * holder's lease runs (one TTL expirer across replicas).
   */
  lease(name: string, holder: string, ms: number): Promise<boolean>;
  close(): Promise<void>;
}
