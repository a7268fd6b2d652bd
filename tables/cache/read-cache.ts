// A DAX-style read cache in the table service. Per table it is off unless a TTL is
// set, by the service's defaults (--cache-item-ttl / --cache-query-ttl) or by the
// table's tags selfless:cache:itemTtlSeconds / selfless:cache:queryTtlSeconds (the
// operator writes them from the Table resource's `cache`).
// - The item cache answers eventually consistent GetItem and BatchGetItem keys, and
//   remembers absent items too (negative entries, as DAX does).
// - The query cache answers a repeated eventually consistent Query or Scan (the same
//   parameters) with the same page.
// - ConsistentRead: true bypasses both and fills neither, as DAX passes strongly
//   consistent reads through.
// - Writes through this replica are written through: the item cache takes the new
//   item (or its absence) before the write answers, and every cached query of the
//   table is dropped (DAX leaves its query cache to expire; dropping it means a
//   reader of this replica never sees its own write undone by a cached page).
// - A read fills the cache only if no write of that table ran on this replica
//   meanwhile (a per-table epoch), so a slow read cannot put back an older value.
// - Across replicas: each has its own cache. With Redis configured, every write
//   publishes an invalidation and awaits it before answering; the other replicas
//   drop that item and the table's queries when it arrives (Redis delivers it to them
//   before it acknowledges the publisher). A replica whose subscription drops clears
//   its whole cache and fills nothing until it is back.
// - Bounded memory: one LRU of items and pages by their size (--cache-max-bytes).
import type { Redis } from 'ioredis';
import type { StorageKey, TableMeta } from '../storage/engine.ts';
import { itemSize, type Item } from '../values.ts';
import { Lru } from './lru.ts';

export interface CacheSettings {
  /** Seconds an item (or its absence) is kept; 0: no item cache. */
  itemTtlSeconds: number;
  /** Seconds a Query or Scan page is kept; 0: no query cache. */
  queryTtlSeconds: number;
}

export const itemTtlTag = 'selfless:cache:itemTtlSeconds';
export const queryTtlTag = 'selfless:cache:queryTtlSeconds';

export interface CacheMetrics {
  lookup(table: string, cache: 'item' | 'query', hit: boolean): void;
  evicted(): void;
  bytes(n: number): void;
}

export interface ReadCacheOptions {
  defaults?: Partial<CacheSettings>;
  maxBytes?: number;
  clock?: () => number;
  metrics?: CacheMetrics;
  /** Publisher and a dedicated subscriber connection: invalidations across replicas. */
  redis?: { pub: Redis; sub: Redis; channel?: string };
}

interface TableState {
  epoch: number;
  pending: number;
}

type Page = Record<string, unknown>;
type Entry = { kind: 'item'; item: Item | undefined } | { kind: 'page'; page: Page; epoch: number };

const keyId = (meta: TableMeta, key: StorageKey) =>
  `${meta.id}:${key.hash.toString('hex')}:${key.range.toString('hex')}`;

/** The request parameters that decide a page, in a fixed order. */
function pageKey(meta: TableMeta, kind: string, req: Record<string, unknown>): string {
  const { ReturnConsumedCapacity: _, ...rest } = req;
  const sorted = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v) && !Buffer.isBuffer(v)
      ? Object.fromEntries(
          Object.keys(v as object)
            .sort()
            .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
        )
      : Array.isArray(v)
        ? v.map(sorted)
        : v;
  return `${meta.id}:${kind}:${JSON.stringify(sorted(rest))}`;
}

export class ReadCache {
  private readonly lru: Lru<Entry>;
  private readonly tables = new Map<string, TableState>();
  private readonly now: () => number;
  private readonly defaults: CacheSettings;
  private readonly channel: string;
  private connected = true;
  /** Resolves once invalidations from other replicas arrive (at once without Redis). */
  readonly ready: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: ReadCacheOptions = {}) {
    this.now = opts.clock ?? Date.now;
    this.defaults = {
      itemTtlSeconds: opts.defaults?.itemTtlSeconds ?? 0,
      queryTtlSeconds: opts.defaults?.queryTtlSeconds ?? 0,
    };
    this.lru = new Lru(opts.maxBytes ?? 64 * 1024 * 1024, () => opts.metrics?.evicted());
    this.channel = opts.redis?.channel ?? '{selfless}:tables:cache';
    const sub = opts.redis?.sub;
    if (sub) {
      sub.on('message', (_channel: string, message: string) => this.remote(message));
      // Invalidations missed while disconnected are unknown: start again empty.
      const lost = () => {
        this.connected = false;
        this.lru.clear();
      };
      sub.on('close', lost);
      sub.on('reconnecting', lost);
      sub.on('ready', () => {
        void sub.subscribe(this.channel).then(() => {
          this.lru.clear();
          this.connected = true;
        });
      });
      this.ready = sub.subscribe(this.channel);
    }
  }

  settings(meta: TableMeta): CacheSettings {
    const tag = (name: string) => {
      const v = meta.tags?.[name];
      return v === undefined ? undefined : Number(v);
    };
    return {
      itemTtlSeconds: tag(itemTtlTag) ?? this.defaults.itemTtlSeconds,
      queryTtlSeconds: tag(queryTtlTag) ?? this.defaults.queryTtlSeconds,
    };
  }

  private state(meta: TableMeta): TableState {
    let s = this.tables.get(meta.id);
    if (!s) this.tables.set(meta.id, (s = { epoch: 0, pending: 0 }));
    return s;
  }

  /** Taken before a read: a fill with a stale token is dropped. */
  token(meta: TableMeta): number {
    return this.state(meta).epoch;
  }

  private fillable(meta: TableMeta, token: number): boolean {
    const s = this.state(meta);
    return this.connected && s.pending === 0 && s.epoch === token;
  }

  /** A cached item: `{ item }` (undefined item: known absent), or undefined on a miss. */
  item(meta: TableMeta, key: StorageKey): { item: Item | undefined } | undefined {
    if (!this.settings(meta).itemTtlSeconds) return undefined;
    const e = this.lru.get(keyId(meta, key), this.now());
    this.opts.metrics?.lookup(meta.name, 'item', !!e);
    return e?.value.kind === 'item' ? { item: e.value.item } : undefined;
  }

  fillItem(meta: TableMeta, key: StorageKey, item: Item | undefined, token: number): void {
    const ttl = this.settings(meta).itemTtlSeconds;
    if (!ttl || !this.fillable(meta, token)) return;
    this.setItem(meta, key, item, ttl);
  }

  private setItem(meta: TableMeta, key: StorageKey, item: Item | undefined, ttl: number): void {
    const bytes = 100 + (item ? itemSize(item) : 0);
    this.lru.set(keyId(meta, key), { kind: 'item', item }, bytes, this.now() + ttl * 1000);
    this.opts.metrics?.bytes(this.lru.bytes);
  }

  page(meta: TableMeta, kind: 'Query' | 'Scan', req: Record<string, unknown>): Page | undefined {
    if (!this.settings(meta).queryTtlSeconds) return undefined;
    const e = this.lru.get(pageKey(meta, kind, req), this.now());
    const hit = e?.value.kind === 'page' && e.value.epoch === this.state(meta).epoch;
    this.opts.metrics?.lookup(meta.name, 'query', hit);
    return hit && e.value.kind === 'page' ? e.value.page : undefined;
  }

  fillPage(
    meta: TableMeta,
    kind: 'Query' | 'Scan',
    req: Record<string, unknown>,
    page: Page,
    token: number,
  ): void {
    const ttl = this.settings(meta).queryTtlSeconds;
    if (!ttl || !this.fillable(meta, token)) return;
    const bytes = 200 + JSON.stringify(page).length;
    this.lru.set(
      pageKey(meta, kind, req),
      { kind: 'page', page, epoch: token },
      bytes,
      this.now() + ttl * 1000,
    );
    this.opts.metrics?.bytes(this.lru.bytes);
  }

  /** One request's writes: begun as the request writes, written through when it ends. */
  request(): RequestCache {
    return new RequestCache(this);
  }

  /** @internal */
  begin(meta: TableMeta): void {
    const s = this.state(meta);
    s.pending++;
    s.epoch++;
  }

  /** @internal Ends a request's writes of one table: `writes` are its final items (null: deleted; undefined: unknown). */
  async end(
    meta: TableMeta,
    writes: Map<string, { key: StorageKey; item: Item | null | undefined }>,
  ): Promise<void> {
    const s = this.state(meta);
    s.pending--;
    s.epoch++;
    const ttl = this.settings(meta).itemTtlSeconds;
    for (const [id, w] of writes) {
      // With another write of the table still running, its order against this one
      // is unknown here: drop the entry rather than risk keeping the older value.
      if (ttl && s.pending === 0 && this.connected && w.item !== undefined) {
        this.setItem(meta, w.key, w.item ?? undefined, ttl);
      } else this.lru.delete(id);
    }
    const pub = this.opts.redis?.pub;
    if (pub && writes.size) {
      await pub.publish(this.channel, JSON.stringify({ table: meta.id, ids: [...writes.keys()] }));
    }
  }

  private remote(message: string): void {
    let m: { table?: string; ids?: string[] };
    try {
      m = JSON.parse(message) as typeof m;
    } catch {
      return;
    }
    if (!m.table) return;
    const s = this.tables.get(m.table);
    if (s) s.epoch++;
    for (const id of m.ids ?? []) this.lru.delete(id);
  }

  async close(): Promise<void> {
    this.lru.clear();
    if (this.opts.redis) {
      await this.opts.redis.sub.quit();
      await this.opts.redis.pub.quit();
    }
  }
}

/** The writes of one request: begun before storage, written through when the request ends. */
export class RequestCache {
  private readonly tables = new Map<
    string,
    { meta: TableMeta; writes: Map<string, { key: StorageKey; item: Item | null | undefined }> }
  >();

  constructor(readonly cache: ReadCache) {}

  /**
   * Called before a write of `key` touches storage. Until wrote() says what was
   * stored, the key's outcome is unknown and its entry is only dropped.
   */
  writing(meta: TableMeta, key: StorageKey): void {
    let t = this.tables.get(meta.name);
    if (!t) {
      this.cache.begin(meta);
      this.tables.set(meta.name, (t = { meta, writes: new Map() }));
    }
    t.writes.set(keyId(meta, key), { key, item: undefined });
  }

  /** A write done: the item now stored under `key` (null: none). */
  wrote(meta: TableMeta, key: StorageKey, item: Item | null): void {
    this.writing(meta, key);
    this.tables.get(meta.name)!.writes.set(keyId(meta, key), { key, item });
  }

  async finish(): Promise<void> {
    for (const t of this.tables.values()) await this.cache.end(t.meta, t.writes);
  }
}
