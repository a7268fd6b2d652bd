// The production engine: cassandra-driver against ScyllaDB (Apache Cassandra in the
// tests here). One CQL table per DynamoDB table:
//
//   items_<id> (pk blob, sk blob, item text, v timeuuid, tx timeuuid, PRIMARY KEY (pk, sk))
//
// pk and sk hold the key bytes of values.ts keyBytes, whose unsigned byte order is
// DynamoDB's order for all three key types, so the blob clustering order is the
// Query order. (text would also compare by bytes in Cassandra, but one encoding for
// S, N and B keeps both engines and the bound arithmetic identical.) `item` is the
// whole item as DynamoDB JSON; `v` is a fresh timeuuid on every write.
//
// Read-modify-write is compare-and-set on `v` through LWT (Paxos): read at SERIAL,
// decide, write `IF v = <read v>` (or `IF NOT EXISTS`), retry on conflict. Since
// every write stamps a new v, an applied CAS proves nobody wrote in between, and a
// CAS that timed out is resolved by reading v back at SERIAL.
//
// Global secondary indexes are index tables of the same shape (storage/indexes.ts).
// Writes to a table with indexes always go through the CAS loop, which tells the
// old item; once the CAS is applied the index rows are removed and written with
// plain writes stamped from one monotonic clock, so a late update of an older
// version loses to the tombstone of a newer one (last write wins). The index thus
// follows the table eventually, as DynamoDB GSIs do.
//
// Local secondary indexes are strongly consistent, as DynamoDB's: a table with
// LSIs keeps an item collection in one partition, items under sk = 00 range,
// the rows of local index k (1-5) under k composite (indexes.ts), and the
// collection's byte size under sk = ff. Every write is one conditional batch of
// that partition (IF v = on the item and on the size row), so item, index rows
// and size change in one Paxos round, and Query/Scan read a prefix slice.
import { randomBytes } from 'node:crypto';
import cassandra from 'cassandra-driver';
import { applyTableClass, tableClassOf } from './table-class.ts';
import { coalesceDriverWrites } from './coalesce.ts';
import type { Item } from '../../values.ts';
import type {
  Bound,
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
import { activeStream } from '../../streams/model.ts';
import { writeIsolationOf, type WriteIsolation } from '../write-isolation.ts';
import { ensureStreamSchema, makeCqlStreams } from './streams.ts';
import {
  ensureTransactionSchema,
  makeCqlTransactions,
  type CqlTransactionOptions,
} from './transactions.ts';

const { consistencies } = cassandra.types;
type Row = cassandra.types.Row;

export interface CqlEngineConfig {
  contactPoints: string[];
  localDataCenter: string;
  keyspace: string;
  replication?: Record<string, string | number>;
  /** Tables without their own `system:write_isolation` tag (write-isolation.ts). */
  writeIsolation?: WriteIsolation;
  /** The item collection limit of tables with local indexes (DynamoDB: 10 GB). */
  maxItemCollectionBytes?: number;
  /**
   * Coalesce the driver's socket writes per event loop turn (coalesce.ts); default
   * true. It applies to every driver client of the process.
   */
  coalesceWrites?: boolean;
  /** Extra cassandra-driver options (timeouts, policies). */
  clientOptions?: Partial<cassandra.ClientOptions>;
  /** Transaction protocol settings (lease, lock wait, sweep; fault hooks in tests). */
  transactions?: CqlTransactionOptions;
}

const metaTtlMs = 2000;
const maxCasAttempts = 100;

function quoteReplication(r: Record<string, string | number>): string {
  return (
    '{' +
    Object.entries(r)
      .map(([k, v]) => `'${k.replace(/'/g, "''")}': '${String(v).replace(/'/g, "''")}'`)
      .join(', ') +
    '}'
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Version stamps (the `v` column). TimeUuid.now() without a node and clock id draws
// 8 random bytes per call; one random pair per process keeps stamps unique (the
// driver counts ticks within a millisecond; only a clock stepping back onto the
// same millisecond and tick could repeat one) without that cost on every write.
const nodeId = randomBytes(6);
const clockId = randomBytes(2);
const newV = () => cassandra.types.TimeUuid.now(nodeId, clockId);

function isCasTimeout(err: unknown): boolean {
  const e = err as { code?: number; writeType?: string; consistencies?: number };
  // WriteTimeout (0x1100) of a CAS write, or a Paxos read timeout: outcome unknown.
  return e?.code === 0x1100 || e?.code === 0x1200 || /timeout|timed out/i.test(String(err));
}

export async function openCqlEngine(config: CqlEngineConfig): Promise<StorageEngine> {
  if (!/^[a-zA-Z][a-zA-Z0-9_]{0,47}$/.test(config.keyspace)) {
    throw new Error(`invalid CQL keyspace name: ${config.keyspace}`);
  }
  if (config.coalesceWrites !== false) coalesceDriverWrites();
  const client = new cassandra.Client({
    contactPoints: config.contactPoints,
    localDataCenter: config.localDataCenter,
    queryOptions: {
      consistency: consistencies.localQuorum,
      serialConsistency: consistencies.localSerial,
      prepare: true,
    },
    ...config.clientOptions,
  });
  await client.connect();
  const ks = config.keyspace;
  const replication = config.replication ?? { class: 'SimpleStrategy', replication_factor: 1 };
  await client.execute(
    `CREATE KEYSPACE IF NOT EXISTS ${ks} WITH replication = ${quoteReplication(replication)}`,
  );
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.selfless_tables (name text PRIMARY KEY, meta text, transactional boolean)`,
  );
  // Transactions: their record tables and the lock column `tx` (transactions.ts).
  await ensureTransactionSchema(client, ks);
  // Stream records and leases (streams.ts).
  await ensureStreamSchema(client, ks);

  const metas = new Map<string, { meta: TableMeta; at: number }>();
  const table = (meta: TableMeta) => `${ks}.items_${meta.localOf?.id ?? meta.id}`;
  const collectionLimit = config.maxItemCollectionBytes ?? maxItemCollectionBytes;
  // The row prefix of what a (view of a) table reads in a partition shared with
  // local index rows (see the header), undefined for the plain layout.
  const prefixOf = (meta: TableMeta): number | undefined =>
    meta.localOf ? meta.localOf.prefix : localIndexes(meta).length ? 0 : undefined;
  const rowSk = (meta: TableMeta, range: Buffer) => {
    const p = prefixOf(meta);
    return p === undefined ? range : Buffer.concat([Buffer.from([p]), range]);
  };
  const sizeSk = Buffer.from([0xff]);
  /** Clustering bounds of a read: the given ones inside the view's prefix slice. */
  const slice = (meta: TableMeta, lower?: Bound, upper?: Bound) => {
    const p = prefixOf(meta);
    if (p === undefined) return { lower, upper };
    return {
      lower: lower
        ? { bytes: rowSk(meta, lower.bytes), inclusive: lower.inclusive }
        : { bytes: Buffer.from([p]), inclusive: true },
      upper: upper
        ? { bytes: rowSk(meta, upper.bytes), inclusive: upper.inclusive }
        : { bytes: Buffer.from([p + 1]), inclusive: false },
    };
  };
  const sliceCql = (lower?: Bound, upper?: Bound) => {
    let q = '';
    const params: unknown[] = [];
    if (lower) {
      q += ` AND sk ${lower.inclusive ? '>=' : '>'} ?`;
      params.push(lower.bytes);
    }
    if (upper) {
      q += ` AND sk ${upper.inclusive ? '<=' : '<'} ?`;
      params.push(upper.bytes);
    }
    return { q, params };
  };
  const exec = (q: string, params: unknown[], opts: cassandra.QueryOptions = {}) =>
    client.execute(q, params, { prepare: true, ...opts });
  // A row may hold no item: a transaction's lock of an absent item, or the REMOVE
  // record of a table with a stream (streams.ts).
  const parseItem = (row: Row | undefined): Item | undefined =>
    row?.item == null ? undefined : (JSON.parse(row.item as string) as Item);
  const streams = makeCqlStreams({ client, ks, exec });
  const recCol = (meta: TableMeta) => (streams.hasColumn(meta) ? ', rec' : '');

  const readSerial = async (meta: TableMeta, key: StorageKey) => {
    const rs = await exec(
      `SELECT item, v, tx${recCol(meta)} FROM ${table(meta)} WHERE pk = ? AND sk = ?`,
      [key.hash, rowSk(meta, key.range)],
      {
        consistency: consistencies.localSerial,
      },
    );
    return rs.first() ?? undefined;
  };

  const plainPut = (meta: TableMeta, key: StorageKey, item: Item) =>
    exec(`INSERT INTO ${table(meta)} (pk, sk, item, v) VALUES (?, ?, ?, ?)`, [
      key.hash,
      key.range,
      JSON.stringify(item),
      newV(),
    ]);

  // Mutations of one key from this process queue behind each other: LWT keeps
  // them linearizable across replicas either way, but contenders from the same
  // process would only burn Paxos rounds losing to each other.
  const queues = new Map<string, Promise<unknown>>();

  let lastMicros = 0;
  const clock = () => {
    lastMicros = Math.max(Date.now() * 1000, lastMicros + 1);
    return cassandra.types.Long.fromNumber(lastMicros);
  };
  const syncIndexes = async (meta: TableMeta, old: Item | undefined, next: Item | null) => {
    const ts = clock();
    await Promise.all(
      indexWrites(meta, old, next)
        .filter((w) => !w.table.localOf)
        .map(async (w) => {
          if (w.remove) {
            await exec(`DELETE FROM ${table(w.table)} USING TIMESTAMP ? WHERE pk = ? AND sk = ?`, [
              ts,
              w.remove.hash,
              w.remove.range,
            ]);
          }
          if (w.put) {
            await exec(
              `INSERT INTO ${table(w.table)} (pk, sk, item, v) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
              [w.put.key.hash, w.put.key.range, JSON.stringify(w.put.item), newV(), ts],
            );
          }
        }),
    );
  };
  function mutate<T>(
    meta: TableMeta,
    key: StorageKey,
    decide: (current: Item | undefined) => Mutation<T>,
  ): Promise<T> {
    // Every write of an item collection with local indexes changes its size row,
    // so those queue per partition.
    const local = localIndexes(meta).length > 0;
    const id = `${meta.id}/${key.hash.toString('hex')}/${local ? '' : key.range.toString('hex')}`;
    const prev = queues.get(id) ?? Promise.resolve();
    const loop = () => (local ? localCasLoop(meta, key, decide) : casLoop(meta, key, decide));
    const run = prev.then(loop, loop);
    queues.set(id, run);
    const cleanup = () => {
      if (queues.get(id) === run) queues.delete(id);
    };
    run.then(cleanup, cleanup);
    return run;
  }

  async function casLoop<T>(
    meta: TableMeta,
    key: StorageKey,
    decide: (current: Item | undefined) => Mutation<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const row = await readSerial(meta, key);
      if (row?.tx) {
        // Locked by a transaction: finished or given up, it is resolved and the
        // loop reads again; live, TransactionConflictException (transactions.ts).
        await txs.onLocked(meta, key, row.tx as cassandra.types.Uuid);
        continue;
      }
      const old = parseItem(row);
      const m = decide(old);
      if (m.write === undefined || (m.write === null && !old)) return m.result;
      // The record of the previous write goes to the log first, in case its
      // writer died before copying it; this write's record rides in its CAS.
      await streams.recopy(row);
      const rec = streams.prepare(meta, row, old, m.write, m.origin);
      const v = newV();
      let q: string;
      let params: unknown[];
      if (m.write === null && !rec) {
        q = `DELETE FROM ${table(meta)} WHERE pk = ? AND sk = ? IF v = ?`;
        params = [key.hash, key.range, row!.v];
      } else if (!row) {
        q = `INSERT INTO ${table(meta)} (pk, sk, item, v${rec ? ', rec' : ''}) VALUES (?, ?, ?, ?${rec ? ', ?' : ''}) IF NOT EXISTS`;
        params = [key.hash, key.range, JSON.stringify(m.write), v, ...(rec ? [rec.json] : [])];
      } else {
        q = `UPDATE ${table(meta)} SET item = ?, v = ?${rec ? ', rec = ?' : ''} WHERE pk = ? AND sk = ? IF v = ?`;
        params = [
          m.write && JSON.stringify(m.write),
          v,
          ...(rec ? [rec.json] : []),
          key.hash,
          key.range,
          row.v,
        ];
      }
      const done = async () => {
        await rec?.copy();
        await syncIndexes(meta, old, m.write as Item | null);
        return m.result;
      };
      try {
        const rs = await exec(q, params);
        if (rs.first()?.['[applied]'] === true) return await done();
      } catch (err) {
        if (!isCasTimeout(err)) throw err;
        // The CAS may or may not have been applied: our own v (or, for a delete,
        // the row being gone) is the proof.
        const now = await readSerial(meta, key);
        if (m.write === null && !rec ? !now : now?.v?.toString() === v.toString()) {
          return await done();
        }
      }
      if (attempt >= maxCasAttempts) {
        throw new Error(`contention: ${maxCasAttempts} compare-and-set attempts lost`);
      }
      await sleep(Math.random() * Math.min(50, 2 + attempt * 2));
    }
  }

  // One conditional batch of the partition: the item, its size row and its local
  // index rows (see the header); global indexes follow as in casLoop.
  async function localCasLoop<T>(
    meta: TableMeta,
    key: StorageKey,
    decide: (current: Item | undefined) => Mutation<T>,
  ): Promise<T> {
    const t = table(meta);
    const itemSk = rowSk(meta, key.range);
    for (let attempt = 0; ; attempt++) {
      const rs = await exec(
        `SELECT sk, item, v, tx${recCol(meta)} FROM ${t} WHERE pk = ? AND sk IN (?, ?)`,
        [key.hash, itemSk, sizeSk],
        { consistency: consistencies.localSerial },
      );
      const row = rs.rows.find((r) => (r.sk as Buffer).equals(itemSk));
      if (row?.tx) {
        await txs.onLocked(meta, key, row.tx as cassandra.types.Uuid); // as in casLoop
        continue;
      }
      const sizeRow = rs.rows.find((r) => (r.sk as Buffer).equals(sizeSk));
      const old = parseItem(row);
      const m = decide(old);
      if (m.write === undefined || (m.write === null && !old)) return m.result;
      const grow = collectionBytes(meta, m.write) - collectionBytes(meta, old);
      const size = Number(sizeRow?.item ?? 0) + grow;
      if (grow > 0 && size > collectionLimit) throw collectionTooLarge();
      await streams.recopy(row); // as in casLoop
      const rec = streams.prepare(meta, row, old, m.write, m.origin);
      const v = newV();
      const queries: { query: string; params: unknown[] }[] = [];
      if (m.write === null && !rec) {
        queries.push({
          query: `DELETE FROM ${t} WHERE pk = ? AND sk = ? IF v = ?`,
          params: [key.hash, itemSk, row!.v],
        });
      } else if (!row) {
        queries.push({
          query: `INSERT INTO ${t} (pk, sk, item, v${rec ? ', rec' : ''}) VALUES (?, ?, ?, ?${rec ? ', ?' : ''}) IF NOT EXISTS`,
          params: [key.hash, itemSk, JSON.stringify(m.write), v, ...(rec ? [rec.json] : [])],
        });
      } else {
        queries.push({
          query: `UPDATE ${t} SET item = ?, v = ?${rec ? ', rec = ?' : ''} WHERE pk = ? AND sk = ? IF v = ?`,
          params: [
            m.write && JSON.stringify(m.write),
            v,
            ...(rec ? [rec.json] : []),
            key.hash,
            itemSk,
            row.v,
          ],
        });
      }
      queries.push(
        sizeRow
          ? {
              query: `UPDATE ${t} SET item = ?, v = ? WHERE pk = ? AND sk = ? IF v = ?`,
              params: [String(size), v, key.hash, sizeSk, sizeRow.v],
            }
          : {
              query: `INSERT INTO ${t} (pk, sk, item, v) VALUES (?, ?, ?, ?) IF NOT EXISTS`,
              params: [key.hash, sizeSk, String(size), v],
            },
      );
      for (const w of indexWrites(meta, old, m.write)) {
        if (!w.table.localOf) continue;
        if (w.remove) {
          queries.push({
            query: `DELETE FROM ${t} WHERE pk = ? AND sk = ?`,
            params: [key.hash, rowSk(w.table, w.remove.range)],
          });
        }
        if (w.put) {
          queries.push({
            query: `INSERT INTO ${t} (pk, sk, item, v) VALUES (?, ?, ?, ?)`,
            params: [key.hash, rowSk(w.table, w.put.key.range), JSON.stringify(w.put.item), v],
          });
        }
      }
      try {
        const res = await client.batch(queries, { prepare: true });
        if (res.first()?.['[applied]'] === true) {
          await rec?.copy();
          await syncIndexes(meta, old, m.write);
          return m.result;
        }
      } catch (err) {
        if (!isCasTimeout(err)) throw err;
        // The size row carries this attempt's v only if the batch was applied.
        const now = await exec(`SELECT v FROM ${t} WHERE pk = ? AND sk = ?`, [key.hash, sizeSk], {
          consistency: consistencies.localSerial,
        });
        if (now.first()?.v?.toString() === v.toString()) {
          await rec?.copy();
          await syncIndexes(meta, old, m.write);
          return m.result;
        }
      }
      if (attempt >= maxCasAttempts) {
        throw new Error(`contention: ${maxCasAttempts} compare-and-set attempts lost`);
      }
      await sleep(Math.random() * Math.min(50, 2 + attempt * 2));
    }
  }

  // Local index rows live in the table's own partitions: only global indexes
  // have tables of their own.
  const storedIds = (meta: TableMeta) => [
    meta.id,
    ...(meta.indexes ?? []).filter((i) => !i.local).map((i) => i.id),
  ];
  const createItems = (id: string) =>
    client.execute(
      `CREATE TABLE IF NOT EXISTS ${ks}.items_${id} (pk blob, sk blob, item text, v timeuuid, tx timeuuid, rec text, PRIMARY KEY (pk, sk))`,
    );

  /** Rows of one scan segment in token order, with the columns asked for. */
  async function scanRows(meta: TableMeta, spec: ScanSpec, columns: string): Promise<Row[]> {
    // Segments split the Murmur3 token ring [-2^63, 2^63) into equal parts.
    const span = 2n ** 64n;
    const n = BigInt(spec.totalSegments);
    const s = BigInt(spec.segment);
    const from = -(2n ** 63n) + (s * span) / n;
    const to = -(2n ** 63n) + ((s + 1n) * span) / n - 1n;
    const long = (x: bigint) => cassandra.types.Long.fromString(x.toString());
    const opts = { fetchSize: spec.limit + 1 };
    const all = slice(meta);
    const inSlice = sliceCql(all.lower, all.upper);
    // A clustering slice across partitions needs ALLOW FILTERING; Cassandra and
    // Scylla apply it per partition as a slice, not by reading other rows.
    const filtering = inSlice.q ? ' ALLOW FILTERING' : '';
    const out: Row[] = [];
    if (spec.after) {
      const rest = sliceCql({ bytes: rowSk(meta, spec.after.range), inclusive: false }, all.upper);
      const rs = await exec(
        `SELECT ${columns} FROM ${table(meta)} WHERE pk = ?${rest.q} LIMIT ?`,
        [spec.after.hash, ...rest.params, spec.limit],
        opts,
      );
      out.push(...rs.rows);
      if (out.length >= spec.limit) return out;
      const more = await exec(
        `SELECT ${columns} FROM ${table(meta)} WHERE token(pk) > token(?) AND token(pk) <= ?${inSlice.q} LIMIT ?${filtering}`,
        [spec.after.hash, long(to), ...inSlice.params, spec.limit - out.length],
        opts,
      );
      out.push(...more.rows);
      return out;
    }
    const rs = await exec(
      `SELECT ${columns} FROM ${table(meta)} WHERE token(pk) >= ? AND token(pk) <= ?${inSlice.q} LIMIT ?${filtering}`,
      [long(from), long(to), ...inSlice.params, spec.limit],
      opts,
    );
    return rs.rows;
  }

  const dropItems = async (meta: TableMeta) => {
    for (const id of storedIds(meta)) {
      await client.execute(`DROP TABLE IF EXISTS ${ks}.items_${id}`);
    }
  };
  // Blind writes are plain CQL writes unless the table's write isolation is
  // always_use_lwt (write-isolation.ts), or the write must know the old item: a
  // table with indexes (their rows), with a stream (its records, streams.ts), or
  // written by a transaction (every write must see the locks, transactions.ts).
  const casOnly = (meta: TableMeta) =>
    writeIsolationOf(meta, config.writeIsolation) === 'always_use_lwt' ||
    !!meta.indexes?.length ||
    !!meta.transactional ||
    !!activeStream(meta);

  const engine: Omit<StorageEngine, 'transactWrite' | 'transactGet'> = {
    kind: 'cql',
    writeIsolation: config.writeIsolation,
    async createTable(meta) {
      for (const id of storedIds(meta)) await createItems(id);
      const tableClass = tableClassOf(meta.description);
      if (tableClass !== 'STANDARD') await applyTableClass(client, ks, storedIds(meta), tableClass);
      const rs = await exec(
        `INSERT INTO ${ks}.selfless_tables (name, meta) VALUES (?, ?) IF NOT EXISTS`,
        [meta.name, JSON.stringify(meta)],
      );
      if (rs.first()?.['[applied]'] !== true) {
        await dropItems(meta);
        return false;
      }
      metas.set(meta.name, { meta, at: Date.now() });
      return true;
    },
    async getTable(name) {
      const cached = metas.get(name);
      if (cached && Date.now() - cached.at < metaTtlMs) return cached.meta;
      const row = (
        await exec(`SELECT meta, transactional FROM ${ks}.selfless_tables WHERE name = ?`, [name])
      ).first();
      if (!row) {
        metas.delete(name);
        return undefined;
      }
      const meta = JSON.parse(row.meta as string) as TableMeta;
      if (row.transactional === true) meta.transactional = true;
      metas.set(name, { meta, at: Date.now() });
      return meta;
    },
    async listTables() {
      const names: string[] = [];
      let pageState: string | undefined;
      do {
        const rs = await exec(`SELECT name FROM ${ks}.selfless_tables`, [], {
          fetchSize: 1000,
          pageState,
        });
        for (const row of rs.rows) names.push(row.name as string);
        pageState = rs.pageState ?? undefined;
      } while (pageState);
      return names.sort();
    },
    async updateTable(meta) {
      // UpdateTable read the table just before (getTable), so the cache holds the old class.
      const before = metas.get(meta.name)?.meta;
      const tableClass = tableClassOf(meta.description);
      if (before ? tableClassOf(before.description) !== tableClass : tableClass !== 'STANDARD') {
        await applyTableClass(client, ks, storedIds(meta), tableClass);
      }
      await streams.ensureColumn(meta, table(meta));
      await exec(`UPDATE ${ks}.selfless_tables SET meta = ? WHERE name = ?`, [
        JSON.stringify(meta),
        meta.name,
      ]);
      metas.set(meta.name, { meta, at: Date.now() });
    },
    async deleteTable(meta) {
      await exec(`DELETE FROM ${ks}.selfless_tables WHERE name = ?`, [meta.name]);
      metas.delete(meta.name);
      await dropItems(meta);
    },
    async tableStats() {
      return undefined;
    },
    async getItem(meta, key) {
      const rs = await exec(`SELECT item FROM ${table(meta)} WHERE pk = ? AND sk = ?`, [
        key.hash,
        rowSk(meta, key.range),
      ]);
      return parseItem(rs.first() ?? undefined);
    },
    async putItem(meta, key, item) {
      if (casOnly(meta)) await mutate(meta, key, () => ({ write: item, result: undefined }));
      else await plainPut(meta, key, item);
    },
    async deleteItem(meta, key) {
      if (casOnly(meta)) await mutate(meta, key, () => ({ write: null, result: undefined }));
      else await exec(`DELETE FROM ${table(meta)} WHERE pk = ? AND sk = ?`, [key.hash, key.range]);
    },
    mutate,
    async query(meta, spec: QuerySpec) {
      const bounds = slice(meta, spec.lower, spec.upper);
      const range = sliceCql(bounds.lower, bounds.upper);
      const q =
        `SELECT item FROM ${table(meta)} WHERE pk = ?${range.q}` +
        ` ORDER BY sk ${spec.forward ? 'ASC' : 'DESC'} LIMIT ?`;
      const params = [spec.hash, ...range.params, spec.limit];
      const rs = await exec(q, params, { fetchSize: spec.limit + 1 });
      return rs.rows.map((r) => JSON.parse(r.item as string) as Item);
    },
    async scan(meta, spec: ScanSpec) {
      const rows = await scanRows(meta, spec, 'item');
      return rows.map((r) => JSON.parse(r.item as string) as Item);
    },
    async collectionSize(meta, hash) {
      const rs = await exec(`SELECT item FROM ${table(meta)} WHERE pk = ? AND sk = ?`, [
        hash,
        sizeSk,
      ]);
      return Number(rs.first()?.item ?? 0);
    },
    async createIndex(meta, index) {
      await createItems(index.id);
      const tableClass = tableClassOf(meta.description);
      if (tableClass !== 'STANDARD') await applyTableClass(client, ks, [index.id], tableClass);
    },
    async dropIndex(_meta, index) {
      await client.execute(`DROP TABLE IF EXISTS ${ks}.items_${index.id}`);
    },
    async backfillIndex(meta, index, after, limit) {
      const rows = await scanRows(
        meta,
        { segment: 0, totalSegments: 1, after, limit },
        'pk, sk, item, WRITETIME(item) AS wt',
      );
      const view = indexTable(meta, index);
      // Each row is written with the write time of the item version it was made
      // from, so a writer's newer index write or tombstone (stamped later by
      // syncIndexes) wins over a backfill that read the item before it.
      await Promise.all(
        rows.map(async (r) => {
          if (r.item == null) return; // a row without an item (lock or REMOVE record)
          const item = JSON.parse(r.item as string) as Item;
          const k = indexKey(meta.schema, index, item);
          if (!k) return;
          await exec(
            `INSERT INTO ${table(view)} (pk, sk, item, v) VALUES (?, ?, ?, ?) USING TIMESTAMP ?`,
            [
              k.hash,
              k.range,
              JSON.stringify(projectForIndex(meta.schema, index, item)),
              newV(),
              r.wt,
            ],
          );
        }),
      );
      const last = rows[rows.length - 1];
      if (rows.length < limit || !last) return undefined;
      const sk = last.sk as Buffer;
      return { hash: last.pk as Buffer, range: prefixOf(meta) === undefined ? sk : sk.subarray(1) };
    },
    readStream: (stream, after, until, limit) => streams.read(stream, after, until, limit),
    lease: (name, holder, ms) => streams.lease(name, holder, ms),
    async close() {
      await client.shutdown();
    },
  };

  // Transactions (transactions.ts). Reads go through the protocol: GetItem answers
  // the committed write of a lock not yet released, and Query/Scan pages skip the
  // rows that locks of absent items leave.
  const txs = makeCqlTransactions(
    {
      client,
      ks,
      exec,
      table,
      rowSk,
      sizeSk,
      getTable: (name) => engine.getTable(name),
      syncIndexes,
      isCasTimeout,
      metaTtlMs,
      streams,
    },
    config.transactions,
  );
  return {
    ...engine,
    transactWrite: txs.transactWrite,
    transactGet: txs.transactGet,
    getItem: txs.getItem,
    query: (meta, spec) => txs.dense(spec.limit, (limit) => engine.query(meta, { ...spec, limit })),
    scan: (meta, spec) => txs.dense(spec.limit, (limit) => engine.scan(meta, { ...spec, limit })),
    async close() {
      await txs.close();
      await engine.close();
    },
  };
}
