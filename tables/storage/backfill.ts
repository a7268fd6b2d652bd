// The background half of UpdateTable's GlobalSecondaryIndexUpdates. UpdateTable
// records a new GSI as CREATING (writes maintain it from then on) or an old one
// as DELETING (writes stop maintaining it, reads refuse it) and returns; this
// builder then indexes the existing items, or drops the storage, and clears the
// status. Everything it needs is in the table metadata, so a process that starts
// picks up what a stopped one left (resume), and a backfill run twice writes the
// same rows: it is idempotent, so two replicas doing the same work is only waste.
import type { Logger } from '../../lib/log.ts';
import type { IndexMeta, StorageEngine, StorageKey } from './engine.ts';

export interface IndexBuilder {
  /**
   * Runs the pending index work of a table in the background. Resolves when a
   * pass begun after this call has finished (tests await it; callers need not).
   */
  start(table: string): Promise<void>;
  /** Starts the work a stopped process left: every table with a pending index. */
  resume(): Promise<void>;
}

export interface IndexBuilderOptions {
  engine: StorageEngine;
  log?: Logger;
  /** Items indexed per backfill step. */
  chunk?: number;
  /**
   * How long to wait before touching the items: a replica may still write with
   * metadata from before the change for as long as it caches metadata (2 s on
   * cql; sqlite writes always use the latest).
   */
  settleMs?: number;
  /** The wait itself; tests pass their own to hold or release the builder. */
  wait?: (ms: number) => Promise<void>;
}

export function makeIndexBuilder(opts: IndexBuilderOptions): IndexBuilder {
  const { engine } = opts;
  const chunk = opts.chunk ?? 500;
  const settleMs = opts.settleMs ?? (engine.kind === 'cql' ? 5_000 : 0);
  const wait = opts.wait ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
  const running = new Map<string, Promise<void>>();

  async function finish(name: string, done: IndexMeta): Promise<void> {
    const meta = await engine.getTable(name);
    const current = meta?.indexes?.find((i) => i.id === done.id);
    if (!meta || current?.status !== done.status) return;
    const description = { ...meta.description };
    let indexes: IndexMeta[];
    if (done.status === 'CREATING') {
      indexes = meta.indexes!.map((i) => {
        if (i.id !== done.id) return i;
        const { status: _, ...active } = i;
        return active;
      });
    } else {
      indexes = meta.indexes!.filter((i) => i.id !== done.id);
      const left = (description.GlobalSecondaryIndexes as { IndexName: string }[]).filter(
        (d) => d.IndexName !== done.name,
      );
      if (left.length) description.GlobalSecondaryIndexes = left;
      else delete description.GlobalSecondaryIndexes;
    }
    await engine.updateTable({
      ...meta,
      description,
      indexes: indexes.length ? indexes : undefined,
    });
  }

  async function work(name: string): Promise<void> {
    for (;;) {
      const meta = await engine.getTable(name);
      const index = meta?.indexes?.find((i) => i.status);
      if (!meta || !index) return;
      await wait(settleMs);
      if (index.status === 'CREATING') {
        let after: StorageKey | undefined;
        do after = await engine.backfillIndex(meta, index, after, chunk);
        while (after);
      } else {
        await engine.dropIndex(meta, index);
      }
      await finish(name, index);
      opts.log?.info('index ready', { table: name, index: index.name, was: index.status });
    }
  }

  const start = (name: string): Promise<void> => {
    // Each call queues one more pass, so work recorded after a pass has looked
    // for it is never missed.
    const next = (running.get(name) ?? Promise.resolve()).then(() =>
      work(name).catch((err: unknown) => {
        opts.log?.error('index work failed', { table: name, error: String(err) });
      }),
    );
    running.set(name, next);
    void next.then(() => {
      if (running.get(name) === next) running.delete(name);
    });
    return next;
  };

  return {
    start,
    async resume() {
      for (const name of await engine.listTables()) {
        const meta = await engine.getTable(name);
        if (meta?.indexes?.some((i) => i.status)) void start(name);
      }
    },
  };
}
