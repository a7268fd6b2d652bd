// Stream records on the CQL engine. A record must never be lost when a replica
// dies between the item write and the record write, and LWT batches cannot span
// tables, so the record rides in the item row itself: the compare-and-set that
// writes an item also writes its record into the row's `rec` column (a delete
// of an item of a table with a stream leaves its row with a null item and the
// REMOVE record; readers skip such rows as they skip transaction lock rows). Then
// the writer copies the record into the stream log,
//
//   selfless_stream_records ((stream text, bucket bigint), seq text, record text)
//
// one partition per stream and hour (bucket), clustered by sequence number and
// written with the rest of the 24 h retention as TTL. The copy is keyed by the
// record's own sequence number, so copying it twice is harmless: the next write of
// the same item copies the record it finds in `rec` before its own compare-and-set,
// which repairs a copy a dead replica never made.
//
// Readers see records up to `visibilityMs` in the past only, so a record whose copy
// trails its compare-and-set (or whose replica's clock is behind) by less than that
// is never skipped by a reader already past it; the sequence numbers of one item
// always grow (streams/model.ts makeSequencer, floored on the previous record).
import cassandra from 'cassandra-driver';
import type { Item } from '../../values.ts';
import type { StreamRow, TableMeta } from '../engine.ts';
import {
  activeStream,
  changeRecord,
  makeSequencer,
  recordWritten,
  retentionMs,
  sequenceTime,
  streamId,
  type StoredRecord,
} from '../../streams/model.ts';

type Row = cassandra.types.Row;
const hourMs = 3_600_000;

export interface CqlStreamDeps {
  client: cassandra.Client;
  ks: string;
  exec(
    q: string,
    params: unknown[],
    opts?: cassandra.QueryOptions,
  ): Promise<cassandra.types.ResultSet>;
}

/** The record of one write, stored in its row and then copied into the log. */
export interface PendingRecord {
  /** The JSON for the row's `rec` column (stream id and record). */
  json: string;
  copy(): Promise<void>;
}

export async function ensureStreamSchema(client: cassandra.Client, ks: string): Promise<void> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.selfless_stream_records (stream text, bucket bigint, seq text, record text, PRIMARY KEY ((stream, bucket), seq))`,
  );
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${ks}.selfless_leases (name text PRIMARY KEY, holder text)`,
  );
}

export function makeCqlStreams(d: CqlStreamDeps) {
  const log = `${d.ks}.selfless_stream_records`;
  const sequence = makeSequencer();
  const withColumn = new Set<string>();

  async function insert(stream: string, rec: StoredRecord): Promise<void> {
    const seq = rec.dynamodb.SequenceNumber;
    const at = sequenceTime(seq);
    const ttl = Math.ceil((at + retentionMs - Date.now()) / 1000);
    if (ttl <= 0) return;
    await d.exec(
      `INSERT INTO ${log} (stream, bucket, seq, record) VALUES (?, ?, ?, ?) USING TTL ?`,
      [
        stream,
        cassandra.types.Long.fromNumber(Math.floor(at / hourMs)),
        seq,
        JSON.stringify(rec),
        ttl,
      ],
    );
  }

  const parseRec = (json: unknown): { s: string; r: StoredRecord } | undefined =>
    typeof json === 'string' ? (JSON.parse(json) as { s: string; r: StoredRecord }) : undefined;

  return {
    /** Whether rows of this table carry `rec` (a stream was enabled on it once). */
    hasColumn: (meta: TableMeta) => !!meta.streams?.length,
    /** Adds `rec` to the item table of a table getting its first stream. */
    async ensureColumn(meta: TableMeta, table: string): Promise<void> {
      if (!meta.streams?.length || withColumn.has(table)) return;
      try {
        await d.client.execute(`ALTER TABLE ${table} ADD rec text`);
      } catch (err) {
        if (!/exist|conflicts/i.test(String(err))) throw err;
      }
      withColumn.add(table);
    },
    /**
     * The record of a write of `meta` from `old` to `next`, floored on the record
     * the row holds; undefined when the table has no active stream or nothing changed.
     */
    prepare(
      meta: TableMeta,
      row: Row | undefined,
      old: Item | undefined,
      next: Item | null | undefined,
      origin?: 'client' | 'expiry',
    ): PendingRecord | undefined {
      const stream = activeStream(meta);
      if (!stream || next === undefined) return undefined;
      const prev = parseRec(row?.rec);
      const rec = changeRecord(
        meta,
        old,
        next,
        sequence(prev?.r.dynamodb.SequenceNumber),
        Date.now(),
        origin,
      );
      if (!rec) return undefined;
      const s = streamId(meta, stream);
      return {
        json: JSON.stringify({ s, r: rec }),
        async copy() {
          recordWritten(meta.name);
          await insert(s, rec);
        },
      };
    },
    /** Copies the record a row holds into the log again (idempotent). */
    async recopy(row: Row | undefined): Promise<void> {
      const prev = parseRec(row?.rec);
      if (prev) await insert(prev.s, prev.r);
    },
    async read(stream: string, after: string, until: string, limit: number): Promise<StreamRow[]> {
      const out: StreamRow[] = [];
      const from = Math.floor(Math.max(sequenceTime(after), Date.now() - retentionMs) / hourMs);
      const to = Math.floor(sequenceTime(until) / hourMs);
      for (let b = from; b <= to && out.length < limit; b++) {
        const rs = await d.exec(
          `SELECT seq, record FROM ${log} WHERE stream = ? AND bucket = ? AND seq > ? AND seq < ? LIMIT ?`,
          [stream, cassandra.types.Long.fromNumber(b), after, until, limit - out.length],
        );
        for (const r of rs.rows) out.push({ seq: r.seq as string, record: r.record as string });
      }
      return out;
    },
    async lease(name: string, holder: string, ms: number): Promise<boolean> {
      // UPDATE only, never INSERT: an INSERT's row marker would outlive the holder
      // cell's TTL and keep the row (with no holder) after the lease lapsed.
      const ttl = Math.max(1, Math.ceil(ms / 1000));
      const table = `${d.ks}.selfless_leases`;
      const set = `UPDATE ${table} USING TTL ? SET holder = ? WHERE name = ?`;
      const renewed = await d.exec(`${set} IF holder = ?`, [ttl, holder, name, holder]);
      if (renewed.first()?.['[applied]'] === true) return true;
      const taken = await d.exec(`${set} IF holder = null`, [ttl, holder, name]);
      return taken.first()?.['[applied]'] === true;
    },
  };
}

export type CqlStreams = ReturnType<typeof makeCqlStreams>;
