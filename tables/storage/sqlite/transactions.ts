// Transactions on the embedded engine: one SQLite transaction. better-sqlite3 is
// synchronous, so reading every item, deciding and writing them all (with their
// index rows and the client request token) happen with no await in between: no
// other request of this process can interleave, and SQLite makes it all-or-nothing
// on disk. There are no locks to meet, so no TransactionConflict ever arises here.
import type Database from 'better-sqlite3';
import type { Item } from '../../values.ts';
import type { StorageEngine, StorageKey, TableMeta } from '../engine.ts';
import { idempotentMismatch, tokenWindowMs } from '../transactions.ts';

export function makeSqliteTransactions(
  db: Database.Database,
  io: {
    get(meta: TableMeta, key: StorageKey): Item | undefined;
    /** Writes (or deletes, null) an item and its index rows. */
    write(meta: TableMeta, key: StorageKey, next: Item | null, old?: Item): void;
  },
  now: () => number = Date.now,
): Pick<StorageEngine, 'transactWrite' | 'transactGet'> {
  db.exec(
    'CREATE TABLE IF NOT EXISTS selfless_transaction_tokens ' +
      '(token TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, at INTEGER NOT NULL)',
  );
  const tokenGet = db.prepare<[string], { fingerprint: string; at: number }>(
    'SELECT fingerprint, at FROM selfless_transaction_tokens WHERE token = ?',
  );
  const tokenPut = db.prepare(
    'INSERT OR REPLACE INTO selfless_transaction_tokens (token, fingerprint, at) VALUES (?, ?, ?)',
  );
  const tokenExpire = db.prepare('DELETE FROM selfless_transaction_tokens WHERE at < ?');

  return {
    async transactWrite(items, decide, opts) {
      return db.transaction(() => {
        const token = opts?.token;
        if (token) {
          tokenExpire.run(now() - tokenWindowMs);
          const seen = tokenGet.get(token.id);
          if (seen) {
            if (seen.fingerprint !== token.fingerprint) throw idempotentMismatch();
            return { replayed: true as const };
          }
        }
        const current = items.map((it) => io.get(it.meta, it.key));
        const { writes, result } = decide(current);
        writes.forEach((w, i) => {
          if (w === undefined || (w === null && !current[i])) return;
          io.write(items[i]!.meta, items[i]!.key, w, current[i]);
        });
        if (token) tokenPut.run(token.id, token.fingerprint, now());
        return { replayed: false as const, result };
      })();
    },
    async transactGet(items) {
      return db.transaction(() => items.map((it) => io.get(it.meta, it.key)))();
    },
  };
}
