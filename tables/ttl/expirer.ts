// The TTL expirer: deletes items whose TTL attribute, a Number of epoch seconds,
// is in the past, as DynamoDB's background process does. An item whose attribute
// is missing or not a Number never expires, nor one more than five years past
// (DynamoDB ignores those); an expired item stays readable until its pass comes.
// Each deletion re-checks the item in the same read-modify-write, so an item
// rewritten meanwhile with a later expiry survives, and it is a service deletion
// in the table's stream (userIdentity dynamodb.amazonaws.com).
//
// One replica expires at a time: a pass runs only while this expirer holds the
// lease `ttl-expirer` in storage, renewed every pass, so a dead holder's lease
// lapses and another replica takes over. A pass looks at most `itemsPerPass`
// items, walking each TTL table from where its previous pass stopped.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../lib/log.ts';
import { storageKey } from '../actions/context.ts';
import type { StorageEngine, StorageKey, TableMeta } from '../storage/engine.ts';
import type { Item } from '../values.ts';

export interface ExpirerOptions {
  /** Time between passes (default 1 s on sqlite, 5 s on cql); 0 runs no timer (tests call runOnce). */
  intervalMs: number;
  /** Items a pass looks at, over all tables. */
  itemsPerPass: number;
  /** The lease a pass needs; it must outlast the interval. */
  leaseMs: number;
}

export interface Expirer {
  start(): void;
  stop(): void;
  /** One pass; the number of items it deleted (0 without the lease). */
  runOnce(): Promise<number>;
}

const fiveYearsMs = 5 * 365 * 24 * 60 * 60 * 1000;

/** Whether `item` is expired by attribute `name` at `now` (ms). */
export function isExpired(item: Item | undefined, name: string, now: number): boolean {
  const v = item?.[name];
  if (!v || v.N === undefined) return false;
  const at = Number(v.N) * 1000;
  return Number.isFinite(at) && at <= now && at > now - fiveYearsMs;
}

export function makeExpirer(
  opts: {
    engine: StorageEngine;
    log: Logger;
    now?: () => number;
    metrics?: { ttlDeletions?(table: string, n: number): void };
  } & Partial<ExpirerOptions>,
): Expirer {
  const { engine, log } = opts;
  const now = opts.now ?? Date.now;
  // The embedded engine scans in memory or a local file: a pass every second costs
  // little there, and expiry within seconds is what a developer expects of dev.
  const intervalMs = opts.intervalMs ?? (engine.kind === 'sqlite' ? 1000 : 5000);
  const itemsPerPass = opts.itemsPerPass ?? 1000;
  const leaseMs = opts.leaseMs ?? Math.max(30_000, 3 * intervalMs);
  const holder = randomUUID();
  const cursors = new Map<string, StorageKey>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  async function expireTable(
    meta: TableMeta,
    budget: number,
  ): Promise<{ seen: number; deleted: number }> {
    const attribute = meta.ttl!.attribute;
    const after = cursors.get(meta.id);
    const items = await engine.scan(meta, { segment: 0, totalSegments: 1, after, limit: budget });
    let deleted = 0;
    for (const item of items) {
      if (!isExpired(item, attribute, now())) continue;
      const gone = await engine.mutate(meta, storageKey(meta.schema, item), (current) =>
        isExpired(current, attribute, now())
          ? { write: null, result: true, origin: 'expiry' as const }
          : { result: false },
      );
      if (gone) deleted++;
    }
    const last = items[items.length - 1];
    if (items.length < budget || !last) cursors.delete(meta.id);
    else cursors.set(meta.id, storageKey(meta.schema, last));
    if (deleted) opts.metrics?.ttlDeletions?.(meta.name, deleted);
    return { seen: items.length, deleted };
  }

  async function pass(): Promise<number> {
    if (!(await engine.lease('ttl-expirer', holder, leaseMs))) return 0;
    let budget = itemsPerPass;
    let deleted = 0;
    for (const name of await engine.listTables()) {
      if (budget <= 0) break;
      const meta = await engine.getTable(name);
      if (!meta?.ttl) continue;
      const r = await expireTable(meta, budget);
      budget -= Math.max(1, r.seen);
      deleted += r.deleted;
    }
    return deleted;
  }

  const runOnce = () => {
    running ??= pass().finally(() => {
      running = undefined;
    });
    return running;
  };

  return {
    start() {
      if (timer || intervalMs <= 0) return;
      timer = setInterval(() => {
        runOnce().catch((err: unknown) => log.warn('TTL pass failed', { error: String(err) }));
      }, intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    runOnce,
  };
}
