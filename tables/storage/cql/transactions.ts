// Transactions on the CQL engine. LWT (Paxos) is atomic only inside one partition,
// so a transaction over several items is a protocol on top of it, in the manner of
// DynamoDB's own and of the DynamoDB transactions library:
//
//   selfless_transactions (id timeuuid PRIMARY KEY, state text, created timestamp,
//                          items text, writes text, request_token text)
//   items_<id>.tx timeuuid  -- the transaction holding the item's lock, or null
//
// A coordinator (any table-service replica):
//   1. writes the record, PENDING, listing every item (LWT: IF NOT EXISTS);
//   2. locks the items one by one in a fixed order (table id, key bytes): read the
//      row at SERIAL, then `SET tx = id, v = new IF v = <read>` (`INSERT … IF NOT
//      EXISTS` for an absent item: a row with no item, invisible to readers). A
//      locked item changes only through its lock holder, so once every lock is held
//      the items read are a snapshot nobody can change;
//   3. decides (conditions, updates) from that snapshot;
//   4. commits: `SET state = 'COMMITTED', writes = … IF state = 'PENDING'` on the
//      record. That one LWT is the transaction's instant: before it nothing is
//      visible, after it the writes are certain;
//   5. applies each item's write and releases its lock in one LWT per item
//      (`… tx = null IF tx = id`), then deletes the record.
// Cancelling (a failed condition) is `state = 'ABORTED' IF state = 'PENDING'`,
// then releasing the locks (an absent item's row goes away).
//
// Anyone who meets a lock (a transaction locking, a plain write, a reader) reads
// the record at SERIAL: COMMITTED or ABORTED, it finishes the whole transaction
// (every write is conditional on the lock, so finishing twice is harmless);
// PENDING and older than the lease, the coordinator is presumed dead: it aborts it
// (the same LWT the coordinator's commit competes with, so exactly one of them
// wins) and finishes; no record at all, the lock is an orphan of an aborted
// transaction (records are deleted only once every lock is released) and is
// released. A live lock makes a transaction wait a little in lock order and then
// cancel (TransactionConflict), and a plain write fail with
// TransactionConflictException, as DynamoDB does. A sweeper on every replica
// finishes stale records nobody meets.
//
// Plain writes see locks because every write of a table that a transaction has
// written goes through LWT (the engine's casOnly): the first transaction of a table
// sets `transactional` on its metadata row and waits out the metadata cache.
import cassandra from 'cassandra-driver';
import type { Item } from '../../values.ts';
import type { StorageEngine, StorageKey, TableMeta, TransactItem } from '../engine.ts';
import { collectionBytes, indexWrites, localIndexes } from '../indexes.ts';
import type { CqlStreams, PendingRecord } from './streams.ts';
import {
  conflictAt,
  idempotentMismatch,
  itemId,
  tokenWindowMs,
  transactionConflict,
  transactionInProgress,
} from '../transactions.ts';

const { consistencies } = cassandra.types;
type Row = cassandra.types.Row;
type Uuid = cassandra.types.Uuid;
const TimeUuid = cassandra.types.TimeUuid;

export type CoordinatorStep = 'recorded' | 'locked' | 'committed' | 'applying';

export interface CqlTransactionOptions {
  /** A PENDING transaction older than this is presumed abandoned by its coordinator. */
  leaseMs?: number;
  /** How long a transaction waits for a lock held by a live one before cancelling. */
  lockWaitMs?: number;
  /** How often each replica finishes stale transactions nobody met (0: never). */
  sweepMs?: number;
  /**
   * Fault injection for tests: awaited at each step of every coordinator of this
   * engine. A promise that never settles abandons the transaction at that step,
   * exactly as a coordinator that died there.
   */
  hooks?: { step(point: CoordinatorStep, txId: string): void | Promise<void> };
}

/** What the engine lends the protocol: its session and its physical layout. */
export interface CqlTransactionDeps {
  client: cassandra.Client;
  ks: string;
  exec(
    q: string,
    params: unknown[],
    opts?: cassandra.QueryOptions,
  ): Promise<cassandra.types.ResultSet>;
  /** The CQL table holding an item of `meta`. */
  table(meta: TableMeta): string;
  /** The clustering key of an item row (tables with local indexes prefix it). */
  rowSk(meta: TableMeta, range: Buffer): Buffer;
  /** The clustering key of the item collection size row of tables with local indexes. */
  sizeSk: Buffer;
  getTable(name: string): Promise<TableMeta | undefined>;
  /** Global index rows after an item write (the engine's own, eventually consistent). */
  syncIndexes(meta: TableMeta, old: Item | undefined, next: Item | null): Promise<void>;
  isCasTimeout(err: unknown): boolean;
  /** How long a replica may serve cached table metadata. */
  metaTtlMs: number;
  /** Stream records, written with the item they describe (streams.ts). */
  streams: CqlStreams;
}

type State = 'PENDING' | 'COMMITTED' | 'ABORTED';
/** An item as the record names it: table name and id, key bytes in hex. */
interface RecordItem {
  n: string;
  t: string;
  h: string;
  r: string;
}
type RecordWrite = { put?: Item; del?: true };
interface TxRecord {
  id: Uuid;
  state: State;
  created: number;
  items: RecordItem[];
  writes?: RecordWrite[];
  token?: string;
}

const serial = { consistency: consistencies.localSerial };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const same = (a: Uuid | null | undefined, b: Uuid | string) => !!a && a.toString() === b.toString();

export function makeCqlTransactions(d: CqlTransactionDeps, opts: CqlTransactionOptions = {}) {
  const leaseMs = opts.leaseMs ?? 10_000;
  const lockWaitMs = opts.lockWaitMs ?? 500;
  const sweepMs = opts.sweepMs ?? leaseMs;
  const records = `${d.ks}.selfless_transactions`;
  const tokens = `${d.ks}.selfless_transaction_tokens`;
  const step = async (point: CoordinatorStep, id: Uuid) => {
    if (opts.hooks) await opts.hooks.step(point, id.toString());
  };

  const parse = (row: Row | undefined): Item | undefined =>
    row?.item == null ? undefined : (JSON.parse(row.item as string) as Item);
  const where = (meta: TableMeta, key: StorageKey) => [key.hash, d.rowSk(meta, key.range)];

  /** Runs one LWT: true applied, false not, undefined when its outcome is unknown. */
  async function lwt(q: string, params: unknown[]): Promise<boolean | undefined> {
    try {
      const rs = await d.exec(q, params);
      return rs.first()?.['[applied]'] === true;
    } catch (err) {
      if (d.isCasTimeout(err)) return undefined;
      throw err;
    }
  }

  async function readRow(meta: TableMeta, key: StorageKey): Promise<Row | undefined> {
    const rec = d.streams.hasColumn(meta) ? ', rec' : '';
    const rs = await d.exec(
      `SELECT item, v, tx${rec} FROM ${d.table(meta)} WHERE pk = ? AND sk = ?`,
      where(meta, key),
      serial,
    );
    return rs.first() ?? undefined;
  }

  async function readRecord(id: Uuid): Promise<TxRecord | undefined> {
    const row = (
      await d.exec(
        `SELECT id, state, created, items, writes, request_token FROM ${records} WHERE id = ?`,
        [id],
        serial,
      )
    ).first();
    if (!row) return undefined;
    return {
      id: row.id as Uuid,
      state: row.state as State,
      created: (row.created as Date).getTime(),
      items: JSON.parse(row.items as string) as RecordItem[],
      writes: row.writes ? (JSON.parse(row.writes as string) as RecordWrite[]) : undefined,
      token: (row.request_token as string | null) ?? undefined,
    };
  }

  const stale = (rec: TxRecord) => Date.now() - rec.created > leaseMs;

  /** Aborts a PENDING transaction; whatever the record then says is returned. */
  async function abortPending(id: Uuid): Promise<TxRecord | undefined> {
    for (;;) {
      const applied = await lwt(
        `UPDATE ${records} SET state = 'ABORTED' WHERE id = ? IF state = 'PENDING'`,
        [id],
      );
      const rec = await readRecord(id);
      if (applied !== undefined || rec?.state !== 'PENDING') return rec;
    }
  }

  // ---- releasing one item's lock: apply the write of a committed transaction ----

  async function release(
    meta: TableMeta,
    key: StorageKey,
    id: Uuid,
    w: RecordWrite,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const row = await readRow(meta, key);
      if (!same(row?.tx as Uuid | null, id)) return;
      const old = parse(row);
      const next = w.put ?? (w.del ? null : undefined);
      // The item's stream record is written by the same LWT as its write, as in
      // the engine's own compare-and-set (streams.ts).
      await d.streams.recopy(row);
      const rec = d.streams.prepare(meta, row, old, next);
      const applied = localIndexes(meta).length
        ? await releaseLocal(meta, key, id, old, next, rec)
        : await releasePlain(meta, key, id, old, next, rec);
      if (applied) {
        await rec?.copy();
        if (next !== undefined && (next || old)) await d.syncIndexes(meta, old, next);
        return;
      }
      if (attempt > 100) throw new Error(`transaction ${id}: could not release a lock`);
    }
  }

  function releasePlain(
    meta: TableMeta,
    key: StorageKey,
    id: Uuid,
    old: Item | undefined,
    next: Item | null | undefined,
    rec?: PendingRecord,
  ) {
    const t = d.table(meta);
    if (rec) {
      return lwt(
        `UPDATE ${t} SET item = ?, v = ?, tx = null, rec = ? WHERE pk = ? AND sk = ? IF tx = ?`,
        [next ? JSON.stringify(next) : null, TimeUuid.now(), rec.json, ...where(meta, key), id],
      );
    }
    if (next) {
      return lwt(`UPDATE ${t} SET item = ?, v = ?, tx = null WHERE pk = ? AND sk = ? IF tx = ?`, [
        JSON.stringify(next),
        TimeUuid.now(),
        ...where(meta, key),
        id,
      ]);
    }
    if (next === null || !old) {
      return lwt(`DELETE FROM ${t} WHERE pk = ? AND sk = ? IF tx = ?`, [...where(meta, key), id]);
    }
    return lwt(`UPDATE ${t} SET tx = null, v = ? WHERE pk = ? AND sk = ? IF tx = ?`, [
      TimeUuid.now(),
      ...where(meta, key),
      id,
    ]);
  }

  // A table with local indexes keeps the item, its local index rows and the item
  // collection's size in one partition, changed together by one conditional batch
  // (the engine's localCasLoop owns that layout; this is its write, conditioned on
  // the lock instead of on v).
  async function releaseLocal(
    meta: TableMeta,
    key: StorageKey,
    id: Uuid,
    old: Item | undefined,
    next: Item | null | undefined,
    rec?: PendingRecord,
  ) {
    if (next === undefined) return releasePlain(meta, key, id, old, old ? undefined : null);
    const t = d.table(meta);
    const sizeRow = (
      await d.exec(`SELECT item, v FROM ${t} WHERE pk = ? AND sk = ?`, [key.hash, d.sizeSk], serial)
    ).first();
    const size =
      Number(sizeRow?.item ?? 0) + collectionBytes(meta, next) - collectionBytes(meta, old);
    const v = TimeUuid.now();
    const [pk, sk] = where(meta, key);
    const queries: { query: string; params: unknown[] }[] = [
      rec
        ? {
            query: `UPDATE ${t} SET item = ?, v = ?, tx = null, rec = ? WHERE pk = ? AND sk = ? IF tx = ?`,
            params: [next ? JSON.stringify(next) : null, v, rec.json, pk, sk, id],
          }
        : next
          ? {
              query: `UPDATE ${t} SET item = ?, v = ?, tx = null WHERE pk = ? AND sk = ? IF tx = ?`,
              params: [JSON.stringify(next), v, pk, sk, id],
            }
          : { query: `DELETE FROM ${t} WHERE pk = ? AND sk = ? IF tx = ?`, params: [pk, sk, id] },
      sizeRow
        ? {
            query: `UPDATE ${t} SET item = ?, v = ? WHERE pk = ? AND sk = ? IF v = ?`,
            params: [String(size), v, key.hash, d.sizeSk, sizeRow.v],
          }
        : {
            query: `INSERT INTO ${t} (pk, sk, item, v) VALUES (?, ?, ?, ?) IF NOT EXISTS`,
            params: [key.hash, d.sizeSk, String(size), v],
          },
    ];
    for (const w of indexWrites(meta, old, next)) {
      if (!w.table.localOf) continue;
      if (w.remove) {
        queries.push({
          query: `DELETE FROM ${t} WHERE pk = ? AND sk = ?`,
          params: [key.hash, d.rowSk(w.table, w.remove.range)],
        });
      }
      if (w.put) {
        queries.push({
          query: `INSERT INTO ${t} (pk, sk, item, v) VALUES (?, ?, ?, ?)`,
          params: [key.hash, d.rowSk(w.table, w.put.key.range), JSON.stringify(w.put.item), v],
        });
      }
    }
    try {
      const rs = await d.client.batch(queries, { prepare: true });
      return rs.first()?.['[applied]'] === true;
    } catch (err) {
      if (d.isCasTimeout(err)) return undefined;
      throw err;
    }
  }

  // ---- finishing a transaction someone else started (or this coordinator) ----

  async function metaOf(it: RecordItem): Promise<TableMeta | undefined> {
    const meta = await d.getTable(it.n);
    return meta?.id === it.t ? meta : undefined;
  }
  const keyOf = (it: RecordItem): StorageKey => ({
    hash: Buffer.from(it.h, 'hex'),
    range: Buffer.from(it.r, 'hex'),
  });

  /** Applies (COMMITTED) or drops (ABORTED) every lock of `rec`, then forgets it. */
  async function finish(rec: TxRecord, released = false): Promise<void> {
    const committed = rec.state === 'COMMITTED';
    if (!released) {
      await Promise.all(
        rec.items.map(async (it, i) => {
          const meta = await metaOf(it);
          // A table deleted since holds nothing to release.
          if (meta) await release(meta, keyOf(it), rec.id, committed ? rec.writes![i]! : {});
        }),
      );
    }
    if (rec.token) await settleToken(rec.token, rec.id, committed);
    await lwt(`DELETE FROM ${records} WHERE id = ? IF EXISTS`, [rec.id]);
  }

  /**
   * What to do about an item locked by `id`: 'released' once the lock is gone (the
   * transaction finished, by whoever), 'live' while a live coordinator holds it.
   */
  async function resolve(id: Uuid, meta: TableMeta, key: StorageKey): Promise<'released' | 'live'> {
    let rec = await readRecord(id);
    if (!rec) {
      await release(meta, key, id, {});
      return 'released';
    }
    if (rec.state === 'PENDING') {
      if (!stale(rec)) return 'live';
      rec = await abortPending(id);
      if (!rec) {
        await release(meta, key, id, {});
        return 'released';
      }
    }
    await finish(rec);
    return 'released';
  }

  // ---- client request tokens ----

  /** Claims `token` for transaction `id`; 'replay' when it already completed. */
  async function claimToken(
    token: { id: string; fingerprint: string },
    id: Uuid,
  ): Promise<'claimed' | 'replay'> {
    const ttl = Math.ceil(tokenWindowMs / 1000);
    for (;;) {
      const rs = await d.exec(
        `INSERT INTO ${tokens} (id, fingerprint, tx, state, created) VALUES (?, ?, ?, 'PENDING', ?) IF NOT EXISTS USING TTL ${ttl}`,
        [token.id, token.fingerprint, id, new Date()],
      );
      const row = rs.first();
      if (row?.['[applied]'] === true) return 'claimed';
      const seen = (
        await d.exec(
          `SELECT fingerprint, tx, state, created FROM ${tokens} WHERE id = ?`,
          [token.id],
          serial,
        )
      ).first();
      if (!seen) continue;
      if (seen.fingerprint !== token.fingerprint) throw idempotentMismatch();
      if (seen.state === 'DONE') return 'replay';
      // Another request with this token is under way, or its coordinator died.
      const rec = await readRecord(seen.tx as Uuid);
      if (rec) {
        if (rec.state === 'PENDING' && !stale(rec)) throw transactionInProgress();
        await finish(rec.state === 'PENDING' ? ((await abortPending(rec.id)) ?? rec) : rec);
        continue;
      }
      if (Date.now() - (seen.created as Date).getTime() <= leaseMs) throw transactionInProgress();
      await lwt(`DELETE FROM ${tokens} WHERE id = ? IF tx = ?`, [token.id, seen.tx]);
    }
  }

  /** A committed transaction's token answers replays for the window; an aborted one is free again. */
  async function settleToken(token: string, id: Uuid, committed: boolean): Promise<void> {
    if (committed) {
      await lwt(
        `UPDATE ${tokens} USING TTL ${Math.ceil(tokenWindowMs / 1000)} SET state = 'DONE', created = ? WHERE id = ? IF tx = ?`,
        [new Date(), token, id],
      );
    } else {
      await lwt(`DELETE FROM ${tokens} WHERE id = ? IF tx = ?`, [token, id]);
    }
  }

  // ---- tables taking part in transactions ----

  // Table id -> when every replica has read its flag, for tables this replica marked.
  const marked = new Map<string, number>();
  async function markTransactional(metas: TableMeta[]): Promise<void> {
    let readyAt = 0;
    for (const meta of metas) {
      if (meta.transactional) continue;
      let at = marked.get(meta.id);
      if (at === undefined) {
        // Every replica reads the flag within the metadata cache time after it was
        // written: from then on no plain write of the table bypasses the locks.
        const row = (
          await d.exec(
            `SELECT transactional, WRITETIME(transactional) AS written FROM ${d.ks}.selfless_tables WHERE name = ?`,
            [meta.name],
            serial,
          )
        ).first();
        let written = Date.now();
        if (row?.transactional === true) {
          written = (row.written as cassandra.types.Long).toNumber() / 1000;
        } else {
          await lwt(
            `UPDATE ${d.ks}.selfless_tables SET transactional = true WHERE name = ? IF EXISTS`,
            [meta.name],
          );
        }
        at = written + d.metaTtlMs + 250;
        marked.set(meta.id, at);
      }
      readyAt = Math.max(readyAt, at);
    }
    if (readyAt > Date.now()) await sleep(readyAt - Date.now());
  }

  // ---- the coordinator ----

  /** Takes the lock of item `i` for `id`; returns the item as it is under the lock. */
  async function lock(id: Uuid, it: TransactItem, i: number, n: number): Promise<Item | undefined> {
    const deadline = Date.now() + lockWaitMs;
    const t = d.table(it.meta);
    for (let attempt = 0; ; attempt++) {
      const row = await readRow(it.meta, it.key);
      const holder = row?.tx as Uuid | null | undefined;
      if (holder) {
        if (same(holder, id)) return parse(row);
        if ((await resolve(holder, it.meta, it.key)) === 'live') {
          if (Date.now() > deadline) throw conflictAt(n, i);
          await sleep(2 + Math.random() * Math.min(40, 2 + attempt * 4));
        }
        continue;
      }
      const applied = row
        ? await lwt(`UPDATE ${t} SET tx = ?, v = ? WHERE pk = ? AND sk = ? IF v = ?`, [
            id,
            TimeUuid.now(),
            ...where(it.meta, it.key),
            row.v,
          ])
        : await lwt(`INSERT INTO ${t} (pk, sk, tx, v) VALUES (?, ?, ?, ?) IF NOT EXISTS`, [
            ...where(it.meta, it.key),
            id,
            TimeUuid.now(),
          ]);
      if (applied === true) return parse(row);
      if (attempt > 200 || Date.now() > deadline + leaseMs) throw conflictAt(n, i);
    }
  }

  /** Gives up a transaction of this coordinator before its commit: abort, release. */
  async function abandon(id: Uuid): Promise<void> {
    try {
      const rec = await abortPending(id);
      if (rec) await finish(rec);
    } catch {
      // Left to whoever meets its locks, or to the sweeper, after the lease.
    }
  }

  const transactWrite: StorageEngine['transactWrite'] = async (items, decide, topts) => {
    await markTransactional(items.map((it) => it.meta));
    const id = TimeUuid.now();
    const token = topts?.token;
    if (token && (await claimToken(token, id)) === 'replay') return { replayed: true };
    const recItems: RecordItem[] = items.map((it) => ({
      n: it.meta.name,
      t: it.meta.id,
      h: it.key.hash.toString('hex'),
      r: it.key.range.toString('hex'),
    }));
    try {
      for (;;) {
        const applied = await lwt(
          `INSERT INTO ${records} (id, state, created, items, request_token) VALUES (?, 'PENDING', ?, ?, ?) IF NOT EXISTS`,
          [id, new Date(), JSON.stringify(recItems), token?.id ?? null],
        );
        if (applied !== undefined || (await readRecord(id))) break;
      }
    } catch (err) {
      if (token) await settleToken(token.id, id, false).catch(() => undefined);
      throw err;
    }
    await step('recorded', id);

    const order = items
      .map((it, i) => ({ i, k: itemId(it.meta.id, it.key.hash, it.key.range) }))
      .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
    const current: (Item | undefined)[] = new Array(items.length);
    let decision;
    try {
      for (const { i } of order) current[i] = await lock(id, items[i]!, i, items.length);
      await step('locked', id);
      decision = decide(current);
    } catch (err) {
      await abandon(id);
      throw err;
    }
    const writes: RecordWrite[] = decision.writes.map((w) =>
      w === undefined ? {} : w === null ? { del: true } : { put: w },
    );
    for (;;) {
      const applied = await lwt(
        `UPDATE ${records} SET state = 'COMMITTED', writes = ? WHERE id = ? IF state = 'PENDING'`,
        [JSON.stringify(writes), id],
      );
      if (applied === true) break;
      const rec = await readRecord(id);
      if (rec?.state === 'COMMITTED') break;
      if (rec?.state === 'PENDING') continue;
      // Presumed dead and aborted by someone else meanwhile: nothing was written.
      if (rec) await finish(rec).catch(() => undefined);
      throw conflictAt(items.length);
    }
    await step('committed', id);
    const rec: TxRecord = {
      id,
      state: 'COMMITTED',
      created: 0,
      items: recItems,
      writes,
      token: token?.id,
    };
    // The first item alone, then the rest together: a fault hook can stop a
    // coordinator between them, with the transaction half applied.
    await release(items[0]!.meta, items[0]!.key, id, writes[0]!);
    await step('applying', id);
    await Promise.all(items.slice(1).map((it, i) => release(it.meta, it.key, id, writes[i + 1]!)));
    await finish(rec, true);
    return { replayed: false, result: decision.result };
  };

  // ---- reads ----

  /**
   * A snapshot: read every row, then read every version again. An item locked by
   * a live PENDING transaction still holds its committed value; a lock of a
   * finished one is finished first. If no version moved between the two reads,
   * every value was current at the instant between them.
   */
  const transactGet: StorageEngine['transactGet'] = async (items) => {
    for (let attempt = 0; ; attempt++) {
      const rows = await Promise.all(items.map((it) => readRow(it.meta, it.key)));
      let moved = false;
      for (const [i, row] of rows.entries()) {
        const holder = row?.tx as Uuid | null | undefined;
        if (holder && (await resolve(holder, items[i]!.meta, items[i]!.key)) === 'released') {
          moved = true;
        }
      }
      if (!moved) {
        const again = await Promise.all(items.map((it) => readRow(it.meta, it.key)));
        const v = (r: Row | undefined) => (r?.v as Uuid | null | undefined)?.toString();
        if (again.every((r, i) => v(r) === v(rows[i]))) return rows.map(parse);
      }
      if (attempt >= 50) throw conflictAt(items.length);
      await sleep(Math.random() * Math.min(50, 2 + attempt * 4));
    }
  };

  /**
   * GetItem: the last committed value. A lock of a committed transaction whose
   * writes are not all applied yet answers its write, so a GetItem never sees
   * half of a transaction it could have seen all of.
   */
  async function getItem(meta: TableMeta, key: StorageKey): Promise<Item | undefined> {
    const row = (
      await d.exec(
        `SELECT item, tx FROM ${d.table(meta)} WHERE pk = ? AND sk = ?`,
        where(meta, key),
      )
    ).first();
    const holder = row?.tx as Uuid | null | undefined;
    if (!holder) return parse(row ?? undefined);
    const rec = await readRecord(holder);
    if (rec?.state === 'COMMITTED') {
      const i = rec.items.findIndex(
        (it) =>
          it.t === meta.id &&
          it.h === key.hash.toString('hex') &&
          it.r === key.range.toString('hex'),
      );
      const w = rec.writes?.[i];
      if (w?.put) return w.put;
      if (w?.del) return undefined;
    } else if (rec?.state === 'PENDING' && stale(rec)) {
      await resolve(holder, meta, key);
    }
    return parse(row ?? undefined);
  }

  /**
   * Query and Scan pages without the rows of absent items that a transaction
   * holds locked (they have no item): read more until `limit` real items or the end.
   */
  async function dense(limit: number, fetch: (limit: number) => Promise<(Item | null)[]>) {
    let want = limit;
    for (;;) {
      const got = await fetch(want);
      const items = got.filter((x): x is Item => x != null);
      if (items.length >= limit || got.length < want) return items.slice(0, limit);
      want += limit - items.length;
    }
  }

  /** For the engine's read-modify-write loop: an item it found locked by `holder`. */
  async function onLocked(meta: TableMeta, key: StorageKey, holder: Uuid): Promise<void> {
    if ((await resolve(holder, meta, key)) === 'live') throw transactionConflict();
  }

  /** Finishes every transaction older than the lease that nobody met. */
  async function sweep(): Promise<void> {
    const rs = await d.exec(`SELECT id, state, created FROM ${records}`, [], { fetchSize: 1000 });
    for (const row of rs.rows) {
      if (Date.now() - (row.created as Date).getTime() <= leaseMs) continue;
      let rec = await readRecord(row.id as Uuid);
      if (rec?.state === 'PENDING') rec = await abortPending(rec.id);
      if (rec) await finish(rec);
    }
  }
  let sweeping: Promise<void> | undefined;
  const timer =
    sweepMs > 0
      ? setInterval(() => {
          sweeping ??= sweep()
            .catch(() => undefined)
            .finally(() => (sweeping = undefined));
        }, sweepMs)
      : undefined;
  timer?.unref();

  return {
    transactWrite,
    transactGet,
    getItem,
    dense,
    onLocked,
    sweep,
    async close() {
      if (timer) clearInterval(timer);
      await sweeping;
    },
  };
}

/**
 * The protocol's tables, and the lock column on item tables made before it
 * existed. Run once when an engine opens; safe to run from several replicas.
 */
export async function ensureTransactionSchema(client: cassandra.Client, ks: string): Promise<void> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.selfless_transactions (id timeuuid PRIMARY KEY, state text, created timestamp, items text, writes text, request_token text)`,
  );
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.selfless_transaction_tokens (id text PRIMARY KEY, fingerprint text, tx timeuuid, state text, created timestamp)`,
  );
  const addColumn = async (table: string, column: string) => {
    try {
      await client.execute(`ALTER TABLE ${ks}.${table} ADD ${column}`);
    } catch (err) {
      if (!/exist|conflict/i.test(String(err))) throw err;
    }
  };
  const cols = await client.execute(
    'SELECT table_name, column_name FROM system_schema.columns WHERE keyspace_name = ?',
    [ks],
    { prepare: true },
  );
  const has = new Set(cols.rows.map((r) => `${r.table_name as string}.${r.column_name as string}`));
  if (!has.has('selfless_tables.transactional')) {
    await addColumn('selfless_tables', 'transactional boolean');
  }
  for (const r of cols.rows) {
    const table = r.table_name as string;
    if (r.column_name === 'item' && table.startsWith('items_') && !has.has(`${table}.tx`)) {
      await addColumn(table, 'tx timeuuid');
    }
  }
}
