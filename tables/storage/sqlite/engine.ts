// The embedded engine (better-sqlite3): one SQLite table per DynamoDB table,
// keyed (partition hash, hash key bytes, range key bytes) WITHOUT ROWID, so a
// GetItem is one b-tree lookup, a Query one range read and a segment of a Scan one
// contiguous range. better-sqlite3 is synchronous and Node runs one statement at a
// time, so a read-modify-write without an await in the middle is atomic.
import Database from 'better-sqlite3';
import type { Item } from '../../values.ts';
import type {
  Mutation,
  QuerySpec,
  ScanSpec,
  StorageEngine,
  StorageKey,
  TableMeta,
} from '../engine.ts';
import {
  collectionBytes,
  collectionTooLarge,
  indexKey,
  indexTable,
  indexWrites,
  localIndexes,
  maxItemCollectionBytes,
  projectForIndex,
} from '../indexes.ts';
import { partitionHash, segmentRange } from '../segments.ts';
import {
  activeStream,
  changeRecord,
  makeSequencer,
  recordWritten,
  retentionMs,
  streamId,
} from '../../streams/model.ts';
import { makeSqliteTransactions } from './transactions.ts';
import type { WriteIsolation } from '../write-isolation.ts';

type Statement = Database.Statement;

export interface SqliteEngineOptions {
  /** The item collection limit of tables with local indexes (DynamoDB: 10 GB). */
  maxItemCollectionBytes?: number;
  /** Tables without their own setting (only forbid_rmw changes anything here: it refuses). */
  writeIsolation?: WriteIsolation;
}

export function openSqliteEngine(file = ':memory:', opts: SqliteEngineOptions = {}): StorageEngine {
  const collectionLimit = opts.maxItemCollectionBytes ?? maxItemCollectionBytes;
  const db = new Database(file);
  if (file !== ':memory:') {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.exec('CREATE TABLE IF NOT EXISTS selfless_tables (name TEXT PRIMARY KEY, meta TEXT NOT NULL)');
  const metaGet = db.prepare<[string], { meta: string }>(
    'SELECT meta FROM selfless_tables WHERE name = ?',
  );
  const metaInsert = db.prepare(
    'INSERT INTO selfless_tables (name, meta) VALUES (?, ?) ON CONFLICT DO NOTHING',
  );
  const metaUpdate = db.prepare('UPDATE selfless_tables SET meta = ? WHERE name = ?');
  const metaDelete = db.prepare('DELETE FROM selfless_tables WHERE name = ?');
  const metaList = db.prepare<[], { name: string }>(
    'SELECT name FROM selfless_tables ORDER BY name',
  );
  const statements = new Map<string, Statement>();
  const metas = new Map<string, TableMeta>();

  const ident = (meta: TableMeta) => `"items_${meta.id}"`;
  const stmt = (meta: TableMeta, shape: string, sql: () => string): Statement => {
    const k = meta.id + '|' + shape;
    let s = statements.get(k);
    if (!s) {
      s = db.prepare(sql());
      statements.set(k, s);
    }
    return s;
  };
  const parse = (row: { item: string } | undefined): Item | undefined =>
    row ? (JSON.parse(row.item) as Item) : undefined;
  // The three single-item statements of each table, prepared once: they are on the
  // path of every GetItem, PutItem and DeleteItem.
  const itemStatements = new Map<string, { get: Statement; put: Statement; del: Statement }>();
  const itemStmts = (meta: TableMeta) => {
    let s = itemStatements.get(meta.id);
    if (!s) {
      const t = ident(meta);
      s = {
        get: db.prepare(`SELECT item FROM ${t} WHERE h = ? AND pk = ? AND sk = ?`),
        put: db.prepare(`INSERT OR REPLACE INTO ${t} (h, pk, sk, item) VALUES (?, ?, ?, ?)`),
        del: db.prepare(`DELETE FROM ${t} WHERE h = ? AND pk = ? AND sk = ?`),
      };
      itemStatements.set(meta.id, s);
    }
    return s;
  };
  const get = (meta: TableMeta, key: StorageKey) =>
    parse(
      itemStmts(meta).get.get(partitionHash(key.hash), key.hash, key.range) as
        { item: string } | undefined,
    );
  const put = (meta: TableMeta, key: StorageKey, item: Item) =>
    itemStmts(meta).put.run(partitionHash(key.hash), key.hash, key.range, JSON.stringify(item));
  const del = (meta: TableMeta, key: StorageKey) =>
    itemStmts(meta).del.run(partitionHash(key.hash), key.hash, key.range);
  // Tables with local indexes keep the byte size of each item collection here,
  // changed in the transaction of the write that changes it.
  const collections = (meta: TableMeta) => `"collections_${meta.id}"`;
  const collectionStmts = new Map<string, { get: Statement; set: Statement }>();
  const collectionStmt = (meta: TableMeta) => {
    let s = collectionStmts.get(meta.id);
    if (!s) {
      s = {
        get: db.prepare(`SELECT bytes FROM ${collections(meta)} WHERE pk = ?`).pluck(),
        set: db.prepare(`INSERT OR REPLACE INTO ${collections(meta)} (pk, bytes) VALUES (?, ?)`),
      };
      collectionStmts.set(meta.id, s);
    }
    return s;
  };
  const collectionSize = (meta: TableMeta, hash: Buffer) =>
    (collectionStmt(meta).get.get(hash) as number | undefined) ?? 0;
  // Stream records (streams/model.ts), written in the transaction of their change.
  db.exec(
    'CREATE TABLE IF NOT EXISTS selfless_stream_records (stream TEXT NOT NULL, seq TEXT NOT NULL, ' +
      'at INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (stream, seq)) WITHOUT ROWID',
  );
  const recordPut = db.prepare(
    'INSERT INTO selfless_stream_records (stream, seq, at, record) VALUES (?, ?, ?, ?)',
  );
  const recordRead = db.prepare<[string, string, string, number], { seq: string; record: string }>(
    'SELECT seq, record FROM selfless_stream_records WHERE stream = ? AND seq > ? AND seq < ? ' +
      'ORDER BY seq LIMIT ?',
  );
  const recordTrim = db.prepare('DELETE FROM selfless_stream_records WHERE at < ?');
  let trimmedAt = 0;
  const sequence = makeSequencer();
  db.exec(
    'CREATE TABLE IF NOT EXISTS selfless_leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL, until INTEGER NOT NULL)',
  );
  const leaseTake = db.prepare(
    'INSERT INTO selfless_leases (name, holder, until) VALUES (?, ?, ?) ON CONFLICT (name) ' +
      'DO UPDATE SET holder = excluded.holder, until = excluded.until ' +
      'WHERE selfless_leases.holder = excluded.holder OR selfless_leases.until < ?',
  );
  // An item, its index rows and its stream record change in one transaction. The
  // indexes and stream are those of the latest metadata: an index added while this
  // request was in flight is maintained from its first write on.
  const write = (
    given: TableMeta,
    key: StorageKey,
    next: Item | null,
    old?: Item,
    origin?: 'client' | 'expiry',
  ) => {
    const latest = metas.get(given.name);
    const meta = latest?.id === given.id ? latest : given;
    const stream = activeStream(meta);
    if (!meta.indexes?.length && !stream) return next ? put(meta, key, next) : del(meta, key);
    const recorded = db.transaction(() => {
      const before = old ?? get(meta, key);
      const now = Date.now();
      const record = changeRecord(meta, before, next, sequence(), now, origin);
      if (record) {
        recordPut.run(
          streamId(meta, stream!),
          record.dynamodb.SequenceNumber,
          now,
          JSON.stringify(record),
        );
      }
      if (localIndexes(meta).length) {
        const grow = collectionBytes(meta, next) - collectionBytes(meta, before);
        const size = collectionSize(meta, key.hash) + grow;
        if (grow > 0 && size > collectionLimit) throw collectionTooLarge();
        collectionStmt(meta).set.run(key.hash, size);
      }
      if (next) put(meta, key, next);
      else del(meta, key);
      for (const w of indexWrites(meta, before, next)) {
        if (w.remove) del(w.table, w.remove);
        if (w.put) put(w.table, w.put.key, w.put.item);
      }
      return !!record;
    })();
    // Counted once the transaction stands: a refused write (collection too large) wrote none.
    if (recorded) recordWritten(meta.name);
  };
  const createItems = (id: string) =>
    db.exec(
      `CREATE TABLE "items_${id}" (h INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, ` +
        'item TEXT NOT NULL, PRIMARY KEY (h, pk, sk)) WITHOUT ROWID',
    );
  const forget = (meta: TableMeta) => {
    metas.delete(meta.name);
    itemStatements.delete(meta.id);
    collectionStmts.delete(meta.id);
    for (const k of [...statements.keys()]) if (k.startsWith(meta.id + '|')) statements.delete(k);
  };

  // TransactWriteItems / TransactGetItems: one SQLite transaction (transactions.ts).
  const transactions = makeSqliteTransactions(db, { get, write });

  return {
    kind: 'sqlite',
    writeIsolation: opts.writeIsolation,
    ...transactions,
    async createTable(meta) {
      return db.transaction(() => {
        if (metaInsert.run(meta.name, JSON.stringify(meta)).changes === 0) return false;
        createItems(meta.id);
        for (const index of meta.indexes ?? []) createItems(index.id);
        if (localIndexes(meta).length) {
          db.exec(
            `CREATE TABLE ${collections(meta)} (pk BLOB PRIMARY KEY, bytes INTEGER NOT NULL) WITHOUT ROWID`,
          );
        }
        return true;
      })();
    },
    async getTable(name) {
      let meta = metas.get(name);
      if (!meta) {
        const row = metaGet.get(name);
        if (!row) return undefined;
        meta = JSON.parse(row.meta) as TableMeta;
        metas.set(name, meta);
      }
      return meta;
    },
    async listTables() {
      return metaList.all().map((r) => r.name);
    },
    async updateTable(meta) {
      metaUpdate.run(JSON.stringify(meta), meta.name);
      metas.set(meta.name, meta);
    },
    async deleteTable(meta) {
      db.transaction(() => {
        metaDelete.run(meta.name);
        db.exec(`DROP TABLE IF EXISTS ${ident(meta)}`);
        for (const index of meta.indexes ?? []) db.exec(`DROP TABLE IF EXISTS "items_${index.id}"`);
        db.exec(`DROP TABLE IF EXISTS ${collections(meta)}`);
      })();
      forget(meta);
      for (const index of meta.indexes ?? []) forget(indexTable(meta, index));
    },
    async tableStats(meta) {
      const row = stmt(
        meta,
        'stats',
        () =>
          `SELECT count(*) AS count, coalesce(sum(length(item)), 0) AS bytes FROM ${ident(meta)}`,
      ).get() as { count: number; bytes: number };
      return row;
    },
    async getItem(meta, key) {
      return get(meta, key);
    },
    async putItem(meta, key, item) {
      write(meta, key, item);
    },
    async deleteItem(meta, key) {
      write(meta, key, null);
    },
    async mutate<T>(
      meta: TableMeta,
      key: StorageKey,
      decide: (current: Item | undefined) => Mutation<T>,
    ): Promise<T> {
      const current = get(meta, key);
      const m = decide(current);
      if (m.write !== undefined) write(meta, key, m.write, current, m.origin);
      return m.result;
    },
    async query(meta, spec: QuerySpec) {
      const { lower, upper, forward } = spec;
      const shape = `q${lower ? (lower.inclusive ? 'L' : 'l') : ''}${upper ? (upper.inclusive ? 'U' : 'u') : ''}${forward ? 'f' : 'r'}`;
      const s = stmt(meta, shape, () => {
        let sql = `SELECT item FROM ${ident(meta)} WHERE h = ? AND pk = ?`;
        if (lower) sql += ` AND sk ${lower.inclusive ? '>=' : '>'} ?`;
        if (upper) sql += ` AND sk ${upper.inclusive ? '<=' : '<'} ?`;
        return sql + ` ORDER BY sk ${forward ? 'ASC' : 'DESC'} LIMIT ?`;
      });
      const args: unknown[] = [partitionHash(spec.hash), spec.hash];
      if (lower) args.push(lower.bytes);
      if (upper) args.push(upper.bytes);
      args.push(spec.limit);
      return (s.all(...args) as { item: string }[]).map((r) => JSON.parse(r.item) as Item);
    },
    async scan(meta, spec: ScanSpec) {
      const { from, to } = segmentRange(spec.segment, spec.totalSegments);
      const { after } = spec;
      const s = stmt(meta, after ? 'scanAfter' : 'scan', () => {
        let sql = `SELECT item FROM ${ident(meta)} WHERE h >= ? AND h < ?`;
        if (after) sql += ' AND (h, pk, sk) > (?, ?, ?)';
        return sql + ' ORDER BY h, pk, sk LIMIT ?';
      });
      const args: unknown[] = [from, to];
      if (after) args.push(partitionHash(after.hash), after.hash, after.range);
      args.push(spec.limit);
      return (s.all(...args) as { item: string }[]).map((r) => JSON.parse(r.item) as Item);
    },
    async collectionSize(meta, hash) {
      return collectionSize(meta, hash);
    },
    async createIndex(_meta, index) {
      createItems(index.id);
    },
    async dropIndex(meta, index) {
      db.exec(`DROP TABLE IF EXISTS "items_${index.id}"`);
      forget(indexTable(meta, index));
    },
    async backfillIndex(meta, index, after, limit) {
      // No await between reading the items and writing their index rows: no
      // write of this process comes in between (see the header).
      const s = stmt(meta, after ? 'fillAfter' : 'fill', () => {
        let sql = `SELECT pk, sk, item FROM ${ident(meta)}`;
        if (after) sql += ' WHERE (h, pk, sk) > (?, ?, ?)';
        return sql + ' ORDER BY h, pk, sk LIMIT ?';
      });
      const args: unknown[] = after ? [partitionHash(after.hash), after.hash, after.range] : [];
      const rows = s.all(...args, limit) as { pk: Buffer; sk: Buffer; item: string }[];
      const view = indexTable(meta, index);
      db.transaction(() => {
        for (const row of rows) {
          const item = JSON.parse(row.item) as Item;
          const k = indexKey(meta.schema, index, item);
          if (k) put(view, k, projectForIndex(meta.schema, index, item));
        }
      })();
      const last = rows[rows.length - 1];
      return rows.length < limit || !last ? undefined : { hash: last.pk, range: last.sk };
    },
    async readStream(stream, after, until, limit) {
      const now = Date.now();
      if (now - trimmedAt > 60_000) {
        trimmedAt = now;
        recordTrim.run(now - retentionMs);
      }
      return recordRead.all(stream, after, until, limit);
    },
    async lease(name, holder, ms) {
      const now = Date.now();
      return leaseTake.run(name, holder, now + ms, now).changes > 0;
    },
    async close() {
      db.close();
    },
  };
}
