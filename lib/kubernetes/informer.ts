// A list-and-watch cache of one resource type that keeps itself current through
// everything a long-lived watch meets: the server ends watches (timeoutSeconds),
// history is compacted (410 Gone: list again), the API server restarts or the
// connection drops (retry with backoff from the last resourceVersion). Listeners get
// only the key of what changed; reconcilers read the object from the cache.
import * as http from 'node:http';
import type { IncomingMessage } from 'node:http';
import * as https from 'node:https';
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log.ts';

export interface Obj {
  apiVersion?: string;
  kind?: string;
  metadata?: k8s.V1ObjectMeta;
}

interface ObjList {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string };
  items?: Obj[];
}

export type ChangeListener = (obj: Obj, type: 'added' | 'modified' | 'deleted') => void;

export interface InformerOptions {
  /** API path of the collection, e.g. /apis/selfless.dev/v1alpha1/functions. */
  path: string;
  labelSelector?: string;
  /**
   * Objects' metadata only (PartialObjectMetadata): enough to know which exist, without
   * holding their data (the content store's chunks are up to 768 KiB each).
   */
  metadataOnly?: boolean;
  log: Logger;
  /** How long the server keeps one watch open before ending it. */
  watchTimeoutSeconds?: number;
  maxBackoffMs?: number;
}

export const keyOf = (o: Obj): string =>
  o.metadata?.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : `${o.metadata?.name}`;

export class Informer<T extends Obj = Obj> {
  private readonly objects = new Map<string, T>();
  private readonly listeners: ChangeListener[] = [];
  private resourceVersion = '';
  private stopped = true;
  private abort: AbortController | undefined;
  private failures = 0;
  private synced!: Promise<void>;
  private markSynced!: () => void;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly opts: InformerOptions,
  ) {
    this.resetSynced();
  }

  on(listener: ChangeListener): void {
    this.listeners.push(listener);
  }

  get(key: string): T | undefined {
    return this.objects.get(key);
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  /** Resolves once the first list has filled the cache. */
  hasSynced(): Promise<void> {
    return this.synced;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private resetSynced(): void {
    this.synced = new Promise((r) => (this.markSynced = r));
  }

  private emit(obj: Obj, type: 'added' | 'modified' | 'deleted'): void {
    for (const l of this.listeners) l(obj, type);
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        await this.watchOnce();
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        if (isGone(err)) {
          this.opts.log.info('watch history expired, listing again', { path: this.opts.path });
          this.resourceVersion = '';
          continue;
        }
        const delay = Math.min(this.opts.maxBackoffMs ?? 30_000, 200 * 2 ** this.failures++);
        this.opts.log.warn('watch failed, retrying', {
          path: this.opts.path,
          error: String(err),
          delayMs: delay,
        });
        await new Promise<void>((r) => {
          this.retryTimer = setTimeout(r, delay);
        });
      }
    }
  }

  private async relist(): Promise<void> {
    const url = new URL(this.server() + this.opts.path);
    if (this.opts.labelSelector) url.searchParams.set('labelSelector', this.opts.labelSelector);
    const res = await this.request(url, 'PartialObjectMetadataList');
    let text = '';
    for await (const c of res) text += String(c);
    const list = JSON.parse(text) as ObjList;
    const seen = new Set<string>();
    // An empty PartialObjectMetadataList has no items at all.
    for (const item of list.items ?? []) {
      // A list names the kind once (FooList); watch events name it on every object,
      // and whoever deletes or applies a cached object needs it there.
      item.apiVersion ??= list.apiVersion;
      if (list.kind?.endsWith('List')) item.kind ??= list.kind.slice(0, -'List'.length);
      const key = keyOf(item);
      seen.add(key);
      const old = this.objects.get(key);
      this.objects.set(key, item as T);
      if (!old) this.emit(item, 'added');
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion)
        this.emit(item, 'modified');
    }
    for (const [key, old] of this.objects) {
      if (!seen.has(key)) {
        this.objects.delete(key);
        this.emit(old, 'deleted');
      }
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    this.markSynced();
  }

  private async watchOnce(): Promise<void> {
    const url = new URL(this.server() + this.opts.path);
    url.searchParams.set('watch', 'true');
    url.searchParams.set('allowWatchBookmarks', 'true');
    url.searchParams.set('resourceVersion', this.resourceVersion);
    url.searchParams.set('timeoutSeconds', String(this.opts.watchTimeoutSeconds ?? 300));
    if (this.opts.labelSelector) url.searchParams.set('labelSelector', this.opts.labelSelector);
    const res = await this.request(url, 'PartialObjectMetadata');
    let buf = '';
    for await (const chunk of res as AsyncIterable<string>) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim())
          this.handle(JSON.parse(line) as { type: string; object: Obj & { code?: number } });
      }
    }
  }

  private handle(ev: { type: string; object: Obj & { code?: number } }): void {
    const obj = ev.object;
    if (ev.type === 'ERROR') {
      if (obj.code === 410) throw new GoneError();
      throw new Error(`watch error event: ${JSON.stringify(obj)}`);
    }
    if (obj.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (ev.type === 'BOOKMARK') return;
    const key = keyOf(obj);
    if (ev.type === 'DELETED') {
      this.objects.delete(key);
      this.emit(obj, 'deleted');
    } else {
      const existed = this.objects.has(key);
      this.objects.set(key, obj as T);
      this.emit(obj, existed ? 'modified' : 'added');
    }
  }

  private server(): string {
    const cluster = this.kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig has no current cluster');
    return cluster.server;
  }

  private async request(url: URL, partial: string): Promise<IncomingMessage> {
    this.abort = new AbortController();
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    if (this.opts.metadataOnly) {
      opts.headers = {
        ...opts.headers,
        Accept: `application/json;as=${partial};g=meta.k8s.io;v=v1`,
      };
    }
    const signal = this.abort.signal;
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = (url.protocol === 'https:' ? https : http).request(
        url,
        { ...opts, signal },
        resolve,
      );
      req.on('error', reject);
      req.end();
    });
    res.setEncoding('utf8');
    if (res.statusCode === 410) {
      res.resume();
      throw new GoneError();
    }
    if (res.statusCode !== 200) {
      let text = '';
      for await (const c of res) text += String(c);
      throw new Error(`${url.pathname}: HTTP ${res.statusCode} ${text}`);
    }
    return res;
  }
}

class GoneError extends Error {
  constructor() {
    super('410 Gone: resourceVersion too old');
  }
}

const isGone = (err: unknown) => err instanceof GoneError;
