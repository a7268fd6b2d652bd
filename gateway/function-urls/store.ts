// The Function URLs this gateway serves, by url-id. A function's own URL comes from
// its definition (`functionUrl` in the Function resource or manifest, which
// CreateFunctionUrlConfig and friends write for an unqualified URL); an alias's URL
// is kept here only in selfless dev, and in a cluster comes from the alias in
// spec.aliases (see docs/functions.md). The registry is followed: a definition
// that gains, changes or drops its `functionUrl` changes the URL at once.
import { keyOf, type FunctionDefinition } from '../../lib/function.ts';
import type { Account } from '../invoker.ts';
import type { FunctionRegistry } from '../registry.ts';
import { urlId, type UrlConfig } from './config.ts';

export interface UrlEntry {
  id: string;
  /** The function's key (functionKey). */
  key: string;
  /** The alias the URL invokes; none for the function's own ($LATEST). */
  qualifier?: string;
  config: UrlConfig;
  creationTime: string;
  lastModifiedTime: string;
}

/** Lambda's timestamps for URL configs: ISO-8601 with microseconds. */
export function urlTimestamp(d: Date): string {
  return d.toISOString().replace('Z', '000Z');
}

export class FunctionUrlStore {
  private readonly byId = new Map<string, UrlEntry>();

  /**
   * `aliasUrlsDeclared`: aliases' URLs come from the definition's spec.aliases too
   * (a cluster, where every replica reads them from the Function resource).
   */
  constructor(
    private readonly registry: FunctionRegistry,
    private readonly account: Account,
    private readonly now: () => Date = () => new Date(),
    private readonly aliasUrlsDeclared = false,
  ) {
    for (const fn of registry.list()) this.follow(fn);
    registry.on('changed', (fn) => this.follow(fn));
    registry.on('removed', (fn) => {
      for (const e of this.list(keyOf(fn))) this.byId.delete(e.id);
    });
  }

  private follow(fn: FunctionDefinition): void {
    const key = keyOf(fn);
    this.declare(key, undefined, fn.spec.functionUrl);
    if (!this.aliasUrlsDeclared) return;
    const aliases = new Map((fn.spec.aliases ?? []).map((a) => [a.name, a.functionUrl]));
    for (const e of this.list(key)) {
      if (e.qualifier !== undefined && !aliases.get(e.qualifier)) this.byId.delete(e.id);
    }
    for (const [name, url] of aliases) if (url) this.declare(key, name, url);
  }

  /** The URL a definition declares for `qualifier` (none: the function's own), or none. */
  private declare(key: string, qualifier: string | undefined, declared: UrlConfig | undefined) {
    const id = this.idOf(key, qualifier);
    const held = this.byId.get(id);
    if (!declared) {
      this.byId.delete(id);
      return;
    }
    if (held && JSON.stringify(held.config) === JSON.stringify(declared)) return;
    const at = urlTimestamp(this.now());
    this.byId.set(id, {
      id,
      key,
      ...(qualifier !== undefined && { qualifier }),
      config: declared,
      creationTime: held?.creationTime ?? at,
      lastModifiedTime: at,
    });
  }

  idOf(key: string, qualifier: string | undefined): string {
    const [namespace] = key.includes('/') ? key.split('/') : ['default'];
    const accountId = this.account.accountIdFor?.(namespace!) ?? this.account.accountId;
    return urlId(accountId, key, qualifier);
  }

  byUrlId(id: string): UrlEntry | undefined {
    return this.byId.get(id);
  }

  get(key: string, qualifier: string | undefined): UrlEntry | undefined {
    return this.byId.get(this.idOf(key, qualifier));
  }

  /** The URLs of one function, its own first, then its aliases' by name. */
  list(key: string): UrlEntry[] {
    return [...this.byId.values()]
      .filter((e) => e.key === key)
      .sort((a, b) => (a.qualifier ?? '').localeCompare(b.qualifier ?? ''));
  }

  /** An alias's URL (the function's own is written into its definition instead). */
  put(key: string, qualifier: string, config: UrlConfig): UrlEntry {
    const id = this.idOf(key, qualifier);
    const held = this.byId.get(id);
    const at = urlTimestamp(this.now());
    const entry: UrlEntry = {
      id,
      key,
      qualifier,
      config,
      creationTime: held?.creationTime ?? at,
      lastModifiedTime: at,
    };
    this.byId.set(id, entry);
    return entry;
  }

  remove(key: string, qualifier: string): void {
    this.byId.delete(this.idOf(key, qualifier));
  }
}
